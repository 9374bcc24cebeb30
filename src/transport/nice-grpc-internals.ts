// The parts of nice-grpc that adapt a grpc-js call to its middleware chain and
// a service implementation, one per call kind. nice-grpc's createServer is a
// thin builder around these; grpc-server.ts replaces that builder so the
// service owns the grpc-js Server below them. They are marked @internal (no
// type declarations ship), so their shapes are declared here, against the
// pinned nice-grpc version; the integration tests exercise all four kinds.
/* eslint-disable @typescript-eslint/no-require-imports */
import type { UntypedHandleCall } from "@grpc/grpc-js";
import type { MethodDefinition, CompatServiceDefinition, ServiceDefinition } from "nice-grpc";
import type { ServerMiddleware } from "nice-grpc-common";

/** A method of any message types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMethod = MethodDefinition<any, any, any, any>;

type MethodImplementation = (...args: never[]) => unknown;

type HandlerFactory = (
  definition: AnyMethod,
  implementation: MethodImplementation,
  middleware: ServerMiddleware<unknown, unknown> | undefined,
) => UntypedHandleCall;

const unary = require("nice-grpc/lib/server/handleUnaryCall") as { createUnaryMethodHandler: HandlerFactory };
const serverStreaming = require("nice-grpc/lib/server/handleServerStreamingCall") as {
  createServerStreamingMethodHandler: HandlerFactory;
};
const clientStreaming = require("nice-grpc/lib/server/handleClientStreamingCall") as {
  createClientStreamingMethodHandler: HandlerFactory;
};
const bidiStreaming = require("nice-grpc/lib/server/handleBidiStreamingCall") as {
  createBidiStreamingMethodHandler: HandlerFactory;
};
const definitions = require("nice-grpc/lib/service-definitions") as {
  normalizeServiceDefinition: (definition: CompatServiceDefinition) => ServiceDefinition;
};

export const normalizeServiceDefinition = definitions.normalizeServiceDefinition;

/** The grpc-js handler of one method: nice-grpc's adapter for its call kind. */
export function createMethodHandler(
  definition: AnyMethod,
  implementation: MethodImplementation,
  middleware: ServerMiddleware<unknown, unknown> | undefined,
): UntypedHandleCall {
  const factory = definition.requestStream
    ? definition.responseStream
      ? bidiStreaming.createBidiStreamingMethodHandler
      : clientStreaming.createClientStreamingMethodHandler
    : definition.responseStream
      ? serverStreaming.createServerStreamingMethodHandler
      : unary.createUnaryMethodHandler;
  return factory(definition, implementation, middleware);
}
