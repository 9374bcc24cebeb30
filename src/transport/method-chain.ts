// What the transport's own adapters (unary-handler.ts, server-streaming-handler.ts)
// share: the middleware chain of a method that takes one request message,
// ending in the implementation, and the context each call runs it with.
import type { CallContext, ServerMiddleware } from "nice-grpc-common";
import { currentCall } from "../request-context";
import { createServerCallContext, type HandledCall, type ServerCallContext } from "./call-context";
import { CallScope } from "./call-scope";
import type { AnyMethod } from "./nice-grpc-internals";

/** A chain's last step, or the whole chain: one async generator per call, as nice-grpc's middleware expects. */
export type ChainStep = (request: unknown, context: CallContext) => AsyncGenerator<unknown, unknown, undefined>;

/** The method's middleware chain (if any) ending in `last`, which is never handed a request stream. */
export function singleRequestChain(
  definition: AnyMethod,
  middleware: ServerMiddleware<unknown, unknown> | undefined,
  last: ChainStep,
): ChainStep {
  const method = {
    path: definition.path,
    requestStream: definition.requestStream,
    responseStream: definition.responseStream,
    options: definition.options,
  };
  const next: ChainStep = (request, context) => {
    if (isAsyncIterable(request)) throw new Error(`A middleware passed a request stream to next() of ${method.path}`);
    return last(request, context);
  };
  if (middleware === undefined) return next;
  // nice-grpc types `next` by the literal responseStream; this one serves both kinds.
  type MiddlewareCall = Parameters<typeof middleware<unknown, unknown>>[0];
  const { responseStream } = method;
  return (request, context) =>
    middleware<unknown, unknown>(
      { method, requestStream: false, request, responseStream, next } as MiddlewareCall,
      context,
    );
}

/** The context of the call grpc-js is starting now, from its call scope when it has one. */
export function contextOfCall(call: HandledCall): ServerCallContext {
  const scope = currentCall();
  return createServerCallContext(call, scope instanceof CallScope ? scope : undefined);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value != null && typeof value === "object" && Symbol.asyncIterator in value;
}
