// The gRPC server: a grpc-js Server carrying nice-grpc services, built here
// rather than by nice-grpc's createServer so that the service owns what lies
// below the handlers:
// - each request's raw HTTP/2 stream and headers, taken before grpc-js reads
//   them (takeIncomingStream), so the deadline is read whole (grpc-timeout.ts)
//   and a stream the client already reset runs no handler;
// - the HTTP/2 sessions, so shutdown can close idle connections at once
//   instead of waiting for their clients to go.
import * as grpc from "@grpc/grpc-js";
import {
  constants as http2Constants,
  type Http2Server,
  type IncomingHttpHeaders,
  type Http2Session,
  type ServerHttp2Stream,
} from "node:http2";
import { startIdleSessionProbe } from "./idle-session-probe";
import type { CompatServiceDefinition, ServiceImplementation } from "nice-grpc";
import { composeServerMiddleware, type ServerMiddleware } from "nice-grpc-common";
import type { MethodInfo } from "./call-scope";
import { parseGrpcTimeout, type ParsedTimeout } from "./grpc-timeout";
import { encodingOf } from "./encoded-responses";
import { createMethodHandler } from "./method-handlers";
import { normalizeServiceDefinition, type AnyMethod } from "./nice-grpc-internals";
import { strictDeserializer, type MessageDecoder } from "./strict-decode";

export interface IncomingStream {
  readonly stream: ServerHttp2Stream;
  /** The request's grpc-timeout, removed from its headers before grpc-js saw them. */
  readonly timeout: ParsedTimeout;
  /** The size of its header list as HTTP/2 counts it (name + value + 32 per field). */
  readonly headerBytes: number;
}

// grpc-js turns an HTTP/2 stream into a call, and runs the interceptors that
// make its call scope, synchronously inside the server's 'stream' event. This
// hook runs first in that same event, so the stream it leaves here is the one
// the interceptor is making a scope for.
let incoming: IncomingStream | undefined;

/** The stream of the call being set up, for the call-scope interceptor; taken once. */
export function takeIncomingStream(): IncomingStream | undefined {
  const taken = incoming;
  incoming = undefined;
  return taken;
}

/** A header list's size as HTTP/2 counts it (RFC 9113 §6.5.2), from Node's flat [name, value, …] list. */
function headerListBytes(rawHeaders: readonly string[]): number {
  let bytes = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    bytes += (rawHeaders[i] as string).length + (rawHeaders[i + 1] as string).length + 32;
  return bytes;
}

/** How often a draining server looks for streams it may close. */
const DRAIN_POLL_MS = 20;

/** A grpc-js Server method that is private in its types: it makes the HTTP/2 server for each bound port. */
interface Http2ServerFactory {
  createHttp2Server(credentials: grpc.ServerCredentials): Http2Server;
}

export interface ServiceBuilder<Ext> {
  with<More>(middleware: ServerMiddleware<More, Ext>): ServiceBuilder<Ext & More>;
  add<Service extends CompatServiceDefinition>(
    definition: Service,
    implementation: ServiceImplementation<Service, Ext>,
  ): void;
}

export interface GrpcServer extends ServiceBuilder<object> {
  /** Every method of every service added so far. */
  readonly methods: readonly MethodInfo[];
  listen(address: string, credentials: grpc.ServerCredentials): Promise<number>;
  /** Open HTTP/2 sessions (connections), for shutdown and connection limits. */
  readonly sessions: ReadonlySet<Http2Session>;
  /** Stops accepting connections and sends GOAWAY on every session; calls in flight go on. */
  stopAccepting(): void;
  /**
   * Resolves when every session has closed, or after `ms`. After GOAWAY a
   * session closes once its streams have; a stream whose response has gone
   * out in full while its client keeps the request side open is closed
   * (RST_STREAM NO_ERROR, as gRPC servers do) rather than waited for.
   */
  drainSessions(ms: number): Promise<void>;
  /** Destroys every session at once: what still runs is cancelled. */
  destroySessions(): void;
}

export interface GrpcServerOptions extends grpc.ServerOptions {
  /** Request field names by number for each method path, to name a field a request could not be read for. */
  readonly requestFields?: ReadonlyMap<string, ReadonlyMap<number, string>>;
}

export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const { requestFields, ...serverOptions } = options;
  const server = new grpc.Server(serverOptions);
  const sessions = new Set<Http2Session>();
  const added: MethodInfo[] = [];
  const streams = new Set<ServerHttp2Stream>();
  const factory = server as unknown as Http2ServerFactory;
  const createHttp2Server = factory.createHttp2Server.bind(server);
  factory.createHttp2Server = (credentials) => {
    const http2Server = createHttp2Server(credentials);
    http2Server.prependListener(
      "stream",
      (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
        incoming = {
          stream,
          timeout: parseGrpcTimeout(headers["grpc-timeout"]),
          headerBytes: headerListBytes(rawHeaders),
        };
        delete headers["grpc-timeout"];
        streams.add(stream);
        stream.once("close", () => streams.delete(stream));
      },
    );
    http2Server.prependListener("session", (session) => {
      sessions.add(session);
      session.once("close", () => sessions.delete(session));
    });
    return http2Server;
  };

  const stopProbing = startIdleSessionProbe(sessions, streams);

  const builder = <Ext>(middleware: ServerMiddleware<unknown, unknown> | undefined): ServiceBuilder<Ext> => ({
    with<More>(next: ServerMiddleware<More, Ext>) {
      const composed =
        middleware === undefined ? next : composeServerMiddleware(middleware, next as ServerMiddleware<More, unknown>);
      return builder<Ext & More>(composed as ServerMiddleware<unknown, unknown>);
    },
    add(definition, implementation) {
      const methods = normalizeServiceDefinition(definition);
      // ts-proto definitions carry each request's message type: read it strictly (strict-decode.ts).
      const messageTypes = (definition as { methods?: Record<string, { requestType?: MessageDecoder }> }).methods;
      const grpcDefinition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
      const handlers: grpc.UntypedServiceImplementation = {};
      for (const [name, method] of Object.entries(methods)) {
        const implement = (implementation as Record<string, (...args: never[]) => unknown>)[name];
        if (implement === undefined) throw new Error(`no implementation of ${method.path}`);
        const requestType = messageTypes?.[name]?.requestType;
        const deserialize =
          requestType === undefined
            ? undefined
            : strictDeserializer(requestType, requestFields?.get(method.path) ?? new Map());
        grpcDefinition[name] = toGrpcJsMethod(method, deserialize);
        added.push({ path: method.path, requestStream: method.requestStream, responseStream: method.responseStream });
        handlers[name] = createMethodHandler(method, implement.bind(implementation), middleware);
      }
      server.addService(grpcDefinition, handlers);
    },
  });

  return {
    ...builder<object>(undefined),
    methods: added,
    sessions,
    listen(address, credentials) {
      return new Promise((resolve, reject) => {
        server.bindAsync(address, credentials, (error, port) => (error === null ? resolve(port) : reject(error)));
      });
    },
    stopAccepting() {
      // tryShutdown closes the listening sockets and sends GOAWAY on every
      // session; its callback would wait for every client to hang up, which
      // shutdown does not (see server.ts).
      server.tryShutdown(() => undefined);
    },
    async drainSessions(ms) {
      const until = Date.now() + ms;
      while (sessions.size > 0 && Date.now() < until) {
        for (const stream of streams) {
          // localClose: the response's last frame (END_STREAM) has been sent.
          if (stream.state.localClose === 1 && !stream.closed) stream.close(http2Constants.NGHTTP2_NO_ERROR);
        }
        await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
      }
    },
    destroySessions() {
      stopProbing();
      for (const session of sessions) session.destroy();
      server.forceShutdown();
    },
  };
}

/**
 * grpc-js's form of a method. Responses are handed to grpc-js as a Buffer
 * over the encoder's own bytes, not a copy of them (nice-grpc copies); a
 * response its handler already encoded is sent as those bytes (encoded-responses.ts),
 * as is a message the streaming handler wrote as bytes (a complete message
 * batch's, message-batch.ts: no message type is itself a byte array).
 */
function toGrpcJsMethod(
  method: AnyMethod,
  deserialize: ((bytes: Uint8Array) => unknown) | undefined,
): grpc.MethodDefinition<unknown, unknown> {
  const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    path: method.path,
    requestStream: method.requestStream,
    responseStream: method.responseStream,
    requestSerialize: (value) => asBuffer(method.requestSerialize(value)),
    requestDeserialize: deserialize ?? ((bytes): unknown => method.requestDeserialize(bytes)),
    responseSerialize: (value) =>
      asBuffer(value instanceof Uint8Array ? value : (encodingOf(value) ?? method.responseSerialize(value))),
    responseDeserialize: (bytes): unknown => method.responseDeserialize(bytes),
  };
}
