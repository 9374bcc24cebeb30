// Deadlines for every call. A unary call that arrives without a deadline
// gets the default one; no call runs longer than the ceiling. When the time runs out, or the client cancels, the handler's
// signal aborts (cancelling its database query) and the client gets
// DEADLINE_EXCEEDED (or CANCELLED) at once, even if the handler is slow to stop.
// Long-lived streams (WatchPrices) are exempt from the default and the
// ceiling, not from cancellation.
import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from "nice-grpc-common";
import { runWithQuerySignal } from "../db/query-signal";
import { takeCallDeadline } from "../transport/call-deadline";

export interface DeadlineOptions {
  /** Deadline given to unary calls that arrive without one. */
  readonly defaultMs: number;
  /** The most any call may take, whatever deadline the client sent. */
  readonly maxMs: number;
  /** Method paths that may run as long as the client keeps them open. */
  readonly longLived: ReadonlySet<string>;
}

export class DeadlineExceeded extends Error {
  constructor() {
    super("deadline exceeded");
    this.name = "DeadlineExceeded";
  }
}

export function createDeadlineMiddleware(options: DeadlineOptions) {
  return async function* deadlineMiddleware<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext,
  ): AsyncGenerator<Response, Response | void, undefined> {
    const clientDeadline = takeCallDeadline(context.metadata);
    const clientBudget = clientDeadline === undefined ? undefined : clientDeadline - Date.now();
    const unary = !call.method.requestStream && !call.method.responseStream;
    const budget = options.longLived.has(call.method.path)
      ? clientBudget
      : Math.min(clientBudget ?? (unary ? options.defaultMs : options.maxMs), options.maxMs);

    // The handler's signal: aborted when the client cancels or the deadline passes.
    const controller = new AbortController();
    const cancel = () => controller.abort();
    context.signal.addEventListener("abort", cancel, { once: true });
    if (context.signal.aborted) cancel();

    let expired = false;
    let onExpiry: (() => void) | undefined;
    const expiry = new Promise<never>((_, reject) => {
      onExpiry = () => reject(new ServerError(Status.DEADLINE_EXCEEDED, "deadline exceeded"));
    });
    expiry.catch(() => undefined); // observed through race() below
    const timer =
      budget === undefined
        ? undefined
        : setTimeout(() => {
            expired = true;
            controller.abort(new DeadlineExceeded());
            onExpiry?.();
          }, Math.max(budget, 0));

    // Each step of the handler races the deadline, so a handler that ignores
    // its signal still cannot hold the client past it.
    const race = <T>(step: Promise<T>): Promise<T> => (timer === undefined ? step : Promise.race([step, expiry]));
    const iterator: AsyncGenerator<Response, Response | void, undefined> = call.next(call.request, {
      ...context,
      signal: controller.signal,
    });
    try {
      for (;;) {
        const result = await race(runWithQuerySignal(controller.signal, () => iterator.next()));
        if (result.done) return result.value;
        yield result.value;
      }
    } catch (error) {
      if (expired) throw new ServerError(Status.DEADLINE_EXCEEDED, "deadline exceeded");
      throw error;
    } finally {
      clearTimeout(timer);
      context.signal.removeEventListener("abort", cancel);
      if (expired) void iterator.return(undefined as never).catch(() => undefined);
    }
  };
}
