// Observes every call once, from the transport (src/transport/call-runner.ts):
// one structured log line when its status goes out (method, status code,
// duration, request id, peer, and for streams the messages each way; never a
// token or a message body), and the call metrics, counted as messages pass.
import { Status } from "nice-grpc-common";
import type { Logger } from "./logger";
import type { CallMetrics } from "./metrics";
import type { CallScope } from "../transport/call-scope";
import type { CallObserver } from "../transport/call-tracker";

export function createCallObserver(logger: Logger, metrics?: CallMetrics): CallObserver {
  return {
    callStarted(scope) {
      metrics?.started(scope.method);
    },
    messageReceived(scope) {
      metrics?.received(scope.method);
    },
    messageSent(scope) {
      metrics?.sent(scope.method);
    },
    callEnded(scope: CallScope, code: Status) {
      const durationMs = Number(process.hrtime.bigint() - scope.startedAt) / 1e6;
      metrics?.handled(scope.method, code, durationMs / 1000);
      const line: Record<string, unknown> = {
        requestId: scope.requestId,
        method: scope.method.path,
        code: Status[code],
        durationMs,
        peer: scope.peer,
      };
      if (scope.method.requestStream) line.received = scope.received;
      if (scope.method.responseStream) line.sent = scope.sent;
      logger.info(line, "call");
    },
  };
}
