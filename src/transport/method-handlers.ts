// The grpc-js handler of each method: the adapter for its call kind, which
// runs the middleware chain and the service's implementation.
import type { UntypedHandleCall } from "@grpc/grpc-js";
import type { ServerMiddleware } from "nice-grpc-common";
import { niceGrpcHandlers, type AnyMethod, type MethodImplementation } from "./nice-grpc-internals";
import { createServerStreamingHandler } from "./server-streaming-handler";
import { createUnaryHandler } from "./unary-handler";

/** nice-grpc's adapter for client-streaming and bidi calls; this service's own for unary and server streaming. */
export function createMethodHandler(
  definition: AnyMethod,
  implementation: MethodImplementation,
  middleware: ServerMiddleware<unknown, unknown> | undefined,
): UntypedHandleCall {
  if (definition.requestStream) {
    return definition.responseStream
      ? niceGrpcHandlers.bidiStreaming(definition, implementation, middleware)
      : niceGrpcHandlers.clientStreaming(definition, implementation, middleware);
  }
  return definition.responseStream
    ? createServerStreamingHandler(definition, implementation, middleware)
    : createUnaryHandler(definition, implementation, middleware);
}
