// The parts of nice-grpc that adapt a grpc-js call to its middleware chain and
// a service implementation, one per call kind. nice-grpc's createServer is a
// thin builder around these; grpc-server.ts replaces that builder so the
// service owns the grpc-js Server below them. They are marked @internal (no
// type declarations ship), so their shapes are declared here, against the
// pinned nice-grpc version; the integration tests exercise all four kinds.
// (Unary and server streaming have adapters of their own: unary-handler.ts and
// server-streaming-handler.ts.)
/* eslint-disable @typescript-eslint/no-require-imports */
import type { Metadata as GrpcMetadata, StatusObject, UntypedHandleCall } from "@grpc/grpc-js";
import type { MethodDefinition, CompatServiceDefinition, ServiceDefinition } from "nice-grpc";
import type { Metadata, ServerMiddleware } from "nice-grpc-common";

/** A method of any message types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMethod = MethodDefinition<any, any, any, any>;

export type MethodImplementation = (...args: never[]) => unknown;

export type HandlerFactory = (
  definition: AnyMethod,
  implementation: MethodImplementation,
  middleware: ServerMiddleware<unknown, unknown> | undefined,
) => UntypedHandleCall;

const clientStreaming = require("nice-grpc/lib/server/handleClientStreamingCall") as {
  createClientStreamingMethodHandler: HandlerFactory;
};
const bidiStreaming = require("nice-grpc/lib/server/handleBidiStreamingCall") as {
  createBidiStreamingMethodHandler: HandlerFactory;
};
const definitions = require("nice-grpc/lib/service-definitions") as {
  normalizeServiceDefinition: (definition: CompatServiceDefinition) => ServiceDefinition;
};
const errorStatus = require("nice-grpc/lib/server/createErrorStatusObject") as {
  createErrorStatusObject: (path: string, error: unknown, trailer: GrpcMetadata | undefined) => Partial<StatusObject>;
};
const metadata = require("nice-grpc/lib/utils/convertMetadata") as {
  convertMetadataToGrpcJs: (metadata: Metadata) => GrpcMetadata;
  convertMetadataFromGrpcJs: (metadata: GrpcMetadata) => Metadata;
};

export const normalizeServiceDefinition = definitions.normalizeServiceDefinition;
/** The status nice-grpc sends for an error a handler threw (ServerError, AbortError, anything else). */
export const createErrorStatusObject = errorStatus.createErrorStatusObject;
export const convertMetadataToGrpcJs = metadata.convertMetadataToGrpcJs;
export const convertMetadataFromGrpcJs = metadata.convertMetadataFromGrpcJs;

/** nice-grpc's adapters from a grpc-js call to the middleware chain, by call kind. */
export const niceGrpcHandlers = {
  clientStreaming: clientStreaming.createClientStreamingMethodHandler,
  bidiStreaming: bidiStreaming.createBidiStreamingMethodHandler,
};
