// Ends streaming calls when the server shuts down. Unary calls in flight are
// left to finish (the shutdown waits for them, up to its grace period); a
// stream could stay open for ever, so it is ended at once with UNAVAILABLE
// "server shutting down", which tells the client to reconnect elsewhere.
// (The card's nice-grpc-server-middleware-terminator does not exist on npm.)
import { setMaxListeners } from "node:events";
import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from "nice-grpc-common";
import { ShuttingDownError } from "../errors";

export interface Terminator {
  /** Aborts when shutdown begins. */
  readonly signal: AbortSignal;
  terminate(): void;
}

export function createTerminator(): Terminator {
  const controller = new AbortController();
  // Every open stream listens on this one signal: thousands of listeners are expected, not a leak.
  setMaxListeners(0, controller.signal);
  return { signal: controller.signal, terminate: () => controller.abort() };
}

export function createTerminatorMiddleware(terminator: Terminator) {
  return async function* terminatorMiddleware<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext,
  ): AsyncGenerator<Response, Response | void, undefined> {
    if (!call.requestStream && !call.responseStream) return yield* call.next(call.request, context);
    if (terminator.signal.aborted) throw new ServerError(Status.UNAVAILABLE, new ShuttingDownError().message);

    // The stream's handler sees an abort when the client cancels or shutdown
    // begins; the client sees UNAVAILABLE at once, whatever the handler does.
    const controller = new AbortController();
    let rejectTerminated: ((error: ServerError) => void) | undefined;
    const terminated = new Promise<never>((_, reject) => (rejectTerminated = reject));
    terminated.catch(() => undefined); // observed through the race below
    const onCancel = () => controller.abort();
    const onShutdown = () => {
      controller.abort();
      rejectTerminated?.(new ServerError(Status.UNAVAILABLE, new ShuttingDownError().message));
    };
    context.signal.addEventListener("abort", onCancel, { once: true });
    terminator.signal.addEventListener("abort", onShutdown, { once: true });

    const iterator: AsyncGenerator<Response, Response | void, undefined> = call.next(call.request, { ...context, signal: controller.signal });
    try {
      for (;;) {
        const result = await Promise.race([iterator.next(), terminated]);
        if (result.done) return result.value;
        yield result.value;
      }
    } catch (error) {
      if (terminator.signal.aborted) throw new ServerError(Status.UNAVAILABLE, new ShuttingDownError().message);
      throw error;
    } finally {
      context.signal.removeEventListener("abort", onCancel);
      terminator.signal.removeEventListener("abort", onShutdown);
    }
  };
}
