// The client's middleware: request id, typed errors, deadline and retry,
// applied to every method of the generated client.
import { randomUUID } from "node:crypto";
import { isAbortError } from "abort-controller-x";
import { ClientError, Metadata, Status, type CallOptions, type ClientMiddlewareCall } from "nice-grpc-common";
import { currentRequestId } from "../request-context";
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
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, initialBackoffMs: 50, maxBackoffMs: 1_000 };

type Options = CallOptions & Partial<ProductCallOptions>;

/** Sets x-request-id, and turns failures into ProductClientError carrying it. */
export async function* requestIdAndErrors<Request, Response>(call: ClientMiddlewareCall<Request, Response>, options: Options) {
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
 * Every call gets a deadline: the caller's, or the default (long-lived
 * streams have none unless given). It is sent to the server as grpc-timeout,
 * so the server stops work nobody waits for, and enforced here too, so a
 * server that does not answer cannot hold the caller past it.
 */
export function createDeadlineMiddleware(defaultDeadlineMs: number, longLived: ReadonlySet<string>) {
  return async function* deadline<Request, Response>(call: ClientMiddlewareCall<Request, Response>, options: Options) {
    const given = options.deadline;
    const at = given instanceof Date ? given.getTime() : given !== undefined ? Date.now() + given : longLived.has(call.method.path) ? undefined : Date.now() + defaultDeadlineMs;
    if (at === undefined) return yield* call.next(call.request, options);

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(0, at - Date.now()));
    const onAbort = () => controller.abort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const metadata = Metadata(options.metadata);
    metadata.set("grpc-timeout", grpcTimeout(at - Date.now()));
    try {
      return yield* call.next(call.request, { ...options, metadata, signal: controller.signal, deadline: at } as Options);
    } catch (error) {
      // Our timer fired rather than the caller cancelling: that is a deadline.
      if (isAbortError(error) && !options.signal?.aborted) throw new ClientError(call.method.path, Status.DEADLINE_EXCEEDED, "deadline exceeded (client)");
      throw error;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    }
  };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });

/**
 * Retries UNAVAILABLE for idempotent methods only, with exponential backoff
 * and full jitter, while the deadline allows. A stream is retried only
 * before its first message, so the caller never sees one twice; a write is
 * never retried, since it may have been applied before the connection broke.
 */
export function createRetryMiddleware(policy: RetryPolicy, idempotent: ReadonlySet<string>) {
  return async function* retry<Request, Response>(call: ClientMiddlewareCall<Request, Response>, options: Options & { deadline?: number }) {
    if (!idempotent.has(call.method.path) || call.requestStream) return yield* call.next(call.request, options);
    for (let attempt = 1; ; attempt += 1) {
      let received = false;
      try {
        if (!call.responseStream) return yield* call.next(call.request, options);
        for await (const message of call.next(call.request, options)) {
          received = true;
          yield message;
        }
        return;
      } catch (error) {
        const retryable = error instanceof ClientError && error.code === Status.UNAVAILABLE && !received;
        if (!retryable || attempt >= policy.maxAttempts) throw error;
        const backoff = Math.random() * Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));
        const deadline = typeof options.deadline === "number" ? options.deadline : undefined;
        if (deadline !== undefined && Date.now() + backoff >= deadline) throw error;
        await sleep(backoff, options.signal);
      }
    }
  };
}
