// The first step of ProductService's chain: hands the handler its call scope
// (src/transport/call-scope.ts), made by the transport before the call
// reached nice-grpc. `context.signal` becomes the scope's signal, which
// aborts on the deadline and at shutdown as well as on cancel, and the
// scope records when the handler has finished, so that shutdown and tests
// can wait for handlers rather than for statuses.
import { Status, type CallContext, type ServerMiddlewareCall } from "nice-grpc-common";
import { currentCall } from "../request-context";
import { CallScope } from "../transport/call-scope";
import { undecodable } from "../services/validation";
import { UndecodableMessage } from "../transport/strict-decode";
import { statusError } from "./status-error";

export interface CallScopeContext {
  readonly call: CallScope;
}

export async function* callScopeMiddleware<Request, Response>(
  call: ServerMiddlewareCall<Request, Response, CallScopeContext>,
  context: CallContext,
): AsyncGenerator<Response, Response | void, undefined> {
  const scope = currentCall();
  if (!(scope instanceof CallScope)) throw new Error("a call reached ProductService without a call scope");
  // A unary request that could not be read (invalid UTF-8 in a string field).
  // (This step is outside the errors middleware, so it says the status itself.)
  if (call.request instanceof UndecodableMessage) {
    const error = undecodable(call.request);
    const fieldViolations = [{ field: error.field, description: error.description }];
    throw statusError(Status.INVALID_ARGUMENT, error.message, error.reason, {
      requestId: scope.requestId,
      fieldViolations,
    });
  }
  scope.handlerStarted();
  try {
    return yield* call.next(call.request, { ...context, signal: scope.signal, call: scope });
  } finally {
    scope.handlerFinished();
  }
}
