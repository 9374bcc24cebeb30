// One structured log line per call: method, status code, duration, request
// id, peer, and for streams the number of messages each way. Never a token
// or a message body. The same observation feeds the call metrics, so each
// message is counted once for both.
import { isAbortError } from "abort-controller-x";
import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from "nice-grpc-common";
import type { Logger } from "../logger";
import type { CallMetrics } from "../metrics";
import type { RequestIdContext } from "./request-id";

function statusOf(error: unknown, signal: AbortSignal): Status {
  if (error instanceof ServerError) return error.code;
  if (isAbortError(error) || signal.aborted) return Status.CANCELLED;
  // Anything else became INTERNAL further in; the errors middleware logged it.
  return Status.INTERNAL;
}

export function createLoggingMiddleware(logger: Logger, metrics?: CallMetrics) {
  return async function* loggingMiddleware<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext & RequestIdContext,
  ) {
    const started = process.hrtime.bigint();
    metrics?.started(call.method);
    let received = 0;
    let sent = 0;
    let code = Status.OK;

    const request = call.requestStream
      ? (async function* countRequests() {
          for await (const message of call.request) {
            received += 1;
            yield message;
          }
        })()
      : call.request;

    try {
      if (!call.responseStream) return yield* call.next(request, context);
      for await (const response of call.next(request, context)) {
        sent += 1;
        yield response;
      }
      return;
    } catch (error) {
      code = statusOf(error, context.signal);
      throw error;
    } finally {
      // A stream the client cancelled ends here without an error.
      if (code === Status.OK && context.signal.aborted) code = Status.CANCELLED;
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      metrics?.handled(call.method, Status[code], durationMs / 1000, sent, received);
      const line: Record<string, unknown> = {
        requestId: context.requestId,
        method: call.method.path,
        code: Status[code],
        durationMs,
        peer: context.peer,
      };
      if (call.requestStream) line.received = received;
      if (call.responseStream) line.sent = sent;
      logger.info(line, "call");
    }
  };
}
