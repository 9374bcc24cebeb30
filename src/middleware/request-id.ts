// Gives every call a request id: the caller's `x-request-id` when it is
// well-formed, a new one otherwise. It goes back in the response headers and
// into every log line of the call, so one id follows a request across services.
import { randomUUID } from "node:crypto";
import type { CallContext, ServerMiddlewareCall } from "nice-grpc-common";
import { runWithRequestId } from "../request-context";

export const REQUEST_ID_HEADER = "x-request-id";

export interface RequestIdContext {
  readonly requestId: string;
}

// Bounded and plain, so a caller cannot inject into logs or headers.
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(incoming: string | undefined): string {
  return incoming !== undefined && ACCEPTABLE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

export async function* requestIdMiddleware<Request, Response>(
  call: ServerMiddlewareCall<Request, Response, RequestIdContext>,
  context: CallContext,
): AsyncGenerator<Response, Response | void, undefined> {
  const requestId = requestIdFrom(context.metadata.get(REQUEST_ID_HEADER));
  context.header.set(REQUEST_ID_HEADER, requestId);
  // Each step of the handler runs with the id in scope (src/request-context.ts).
  const iterator: AsyncGenerator<Response, Response | void, undefined> = call.next(call.request, { ...context, requestId });
  for (;;) {
    const result = await runWithRequestId(requestId, () => iterator.next());
    if (result.done) return result.value;
    yield result.value;
  }
}
