// The client's middleware: request id, typed errors, deadline and retry,
// applied to every method of the generated client.
import { randomUUID } from "node:crypto";
import { isAbortError } from "abort-controller-x";
import { ClientError, Metadata, Status, type CallOptions, type ClientMiddlewareCall } from "nice-grpc-common";
import { currentRequestId } from "../shared/request-context";
import { ProductClientError } from "./errors";

export interface ProductCallOptions {
  /** An absolute deadline, or milliseconds from now. Defaults to the client's defaultDeadlineMs. */
  readonly deadline?: Date | number;
  /** The request id to send; defaults to the one of the call being handled, or a new one. */
  readonly requestId?: string;
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /**
   * Each attempt's own deadline, within the call's: an attempt that outlives
   * it is abandoned and retried while the call's deadline allows. Unset, an
   * attempt may use all the time the call has.
   */
  readonly attemptTimeoutMs?: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, initialBackoffMs: 50, maxBackoffMs: 1_000 };

type Options = CallOptions & Partial<ProductCallOptions>;

/** Sets x-request-id, and turns failures into ProductClientError carrying it. */
export async function* requestIdAndErrors<Request, Response>(
  call: ClientMiddlewareCall<Request, Response>,
  options: Options,
) {
  const requestId = options.requestId ?? currentRequestId() ?? randomUUID();
  const metadata = Metadata(options.metadata);
  metadata.set("x-request-id", requestId);
  try {
    return yield* call.next(call.request, { ...options, metadata });
  } catch (error) {
    throw ProductClientError.from(error, call.method.path, requestId);
  }
}

/** grpc-timeout's format: at most 8 digits and a unit. */
function grpcTimeout(ms: number): string {
  return ms < 100_000_000 ? `${Math.max(0, Math.ceil(ms))}m` : `${Math.ceil(ms / 1000)}S`;
}

/**
 * The options of a call, or of one attempt, that must end at `at` (epoch ms):
 * a signal that aborts then or when the caller's does, and grpc-timeout for
 * the server. `expired()` tells the timer from the caller; `done()` lets go.
 */
function bounded(options: Options, at: number) {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(
    () => {
      expired = true;
      controller.abort();
    },
    Math.max(0, at - Date.now()),
  );
  const onAbort = () => controller.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const metadata = Metadata(options.metadata);
  metadata.set("grpc-timeout", grpcTimeout(at - Date.now()));
  return {
    options: { ...options, metadata, signal: controller.signal },
    expired: () => expired,
    done() {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    },
  };
}

/**
 * Every call gets a deadline: the caller's, or the default (long-lived
 * streams have none unless given). It is sent to the server as grpc-timeout,
 * so the server stops work nobody waits for, and enforced here too, so a
 * server that does not answer cannot hold the caller past it.
 */
export function createDeadlineMiddleware(defaultDeadlineMs: number, longLived: ReadonlySet<string>) {
  return async function* deadline<Request, Response>(call: ClientMiddlewareCall<Request, Response>, options: Options) {
    const given = options.deadline;
    const at =
      given instanceof Date
        ? given.getTime()
        : given !== undefined
          ? Date.now() + given
          : longLived.has(call.method.path)
            ? undefined
            : Date.now() + defaultDeadlineMs;
    if (at === undefined) return yield* call.next(call.request, options);

    const bound = bounded(options, at);
    try {
      return yield* call.next(call.request, { ...bound.options, deadline: at } as Options);
    } catch (error) {
      // Our timer fired rather than the caller cancelling: that is a deadline.
      if (isAbortError(error) && !options.signal?.aborted)
        throw new ClientError(call.method.path, Status.DEADLINE_EXCEEDED, "deadline exceeded (client)");
      throw error;
    } finally {
      bound.done();
    }
  };
}

/** Exponential backoff with full jitter: uniform below initial·2^(attempt−1), capped at max. */
export function jitteredBackoffMs(policy: { initialBackoffMs: number; maxBackoffMs: number }, attempt: number): number {
  return Math.random() * Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });

/** The request of a write that takes an idempotency key (AIP-155 `request_id`). */
type Keyed = { requestId?: string };

/**
 * Gives every write a key unless the caller gave one: one per logical call,
 * made before any attempt, so every retry of it carries the same key and the
 * server writes once. A batch's key goes on its first item. `keyed` lists
 * the methods whose request has a `request_id`.
 */
export function createIdempotencyKeyMiddleware(keyed: ReadonlySet<string>) {
  return async function* idempotencyKeys<Request, Response>(
    call: ClientMiddlewareCall<Request, Response>,
    options: Options,
  ) {
    if (!keyed.has(call.method.path)) return yield* call.next(call.request, options);
    if (!call.requestStream) {
      const request = call.request as Keyed;
      const withKey = request.requestId ? request : { ...request, requestId: randomUUID() };
      return yield* call.next(withKey as Request, options);
    }
    const key = randomUUID();
    async function* firstItemKeyed(items: AsyncIterable<Keyed>) {
      let first = true;
      for await (const item of items) {
        yield first && !item.requestId ? { ...item, requestId: key } : item;
        first = false;
      }
    }
    return yield* call.next(firstItemKeyed(call.request as AsyncIterable<Keyed>) as Request, options);
  };
}

/**
 * Whether a call may be sent again: reads, as the contract marks them
 * (`idempotency_level`, in the generated definition), and writes that carry
 * an idempotency key, which the server applies once however often it is sent.
 */
function retryable(call: ClientMiddlewareCall<unknown, unknown>): boolean {
  if (call.requestStream) return false; // a request stream cannot be replayed
  const level = (call.method.options as { idempotencyLevel?: string } | undefined)?.idempotencyLevel;
  if (level === "NO_SIDE_EFFECTS" || level === "IDEMPOTENT") return true;
  return Boolean((call.request as Keyed | undefined)?.requestId);
}

/**
 * Retries calls that are safe to repeat (retryable() above) on UNAVAILABLE,
 * and on DEADLINE_EXCEEDED when it was an attempt's deadline rather than the
 * call's, with exponential backoff and full jitter, while the call's deadline
 * allows. A stream is retried only before its first message, so the caller
 * never sees one twice.
 */
export function createRetryMiddleware(policy: RetryPolicy) {
  return async function* retry<Request, Response>(
    call: ClientMiddlewareCall<Request, Response>,
    options: Options & { deadline?: number },
  ) {
    if (!retryable(call)) return yield* call.next(call.request, options);
    const callDeadline = typeof options.deadline === "number" ? options.deadline : undefined;
    for (let attempt = 1; ; attempt += 1) {
      let received = false;
      const attemptOptions = withAttemptDeadline(options, callDeadline, policy.attemptTimeoutMs);
      try {
        if (!call.responseStream) return yield* call.next(call.request, attemptOptions.options);
        for await (const message of call.next(call.request, attemptOptions.options)) {
          received = true;
          yield message;
        }
        return;
      } catch (thrown) {
        const error =
          attemptOptions.expired() && !options.signal?.aborted
            ? new ClientError(call.method.path, Status.DEADLINE_EXCEEDED, "attempt deadline exceeded (client)")
            : thrown;
        const timeLeft = callDeadline === undefined || Date.now() < callDeadline;
        const retryableCode =
          error instanceof ClientError &&
          (error.code === Status.UNAVAILABLE || (error.code === Status.DEADLINE_EXCEEDED && timeLeft));
        if (!retryableCode || received || attempt >= policy.maxAttempts || options.signal?.aborted) throw error;
        const backoff = jitteredBackoffMs(policy, attempt);
        if (callDeadline !== undefined && Date.now() + backoff >= callDeadline) throw error;
        await sleep(backoff, options.signal);
      } finally {
        attemptOptions.done();
      }
    }
  };
}

/** The options of one attempt: the call's, with the attempt's own deadline when the policy sets one. */
function withAttemptDeadline(options: Options, callDeadline: number | undefined, attemptTimeoutMs: number | undefined) {
  if (attemptTimeoutMs === undefined) return { options, expired: () => false, done: () => undefined };
  return bounded(options, Math.min(Date.now() + attemptTimeoutMs, callDeadline ?? Number.POSITIVE_INFINITY));
}
