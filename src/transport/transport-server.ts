// The server's transport: the connections it accepts (connection-listener.ts),
// HTTP/2 on them (Node's http2, with the connection limits of
// http2-sessions.ts), gRPC on each request stream (grpc-protocol.ts), and
// every call run through its method's middleware chain (call-runner.ts,
// method-adapter.ts). All of it on the public APIs of Node, nice-grpc-common
// and the generated definitions.
import http from "node:http";
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { composeServerMiddleware, type ServerMiddleware } from "nice-grpc-common";
import type { CompatServiceDefinition, ServiceImplementation } from "nice-grpc";
import type { ScopeContext } from "../shared/request-scope";
import type { ServiceHandlers, TsProtoService } from "../shared/service-handlers";
import type { MethodInfo } from "./call-scope";
import type { CallRunnerOptions } from "./call-runner";
import { listenForConnections, type ConnectionListener, type TlsSettings } from "./connection-listener";
import { connectRequestKind, serveConnect } from "./connect-protocol";
import { answerPreflight, type CorsPolicy } from "./cors";
import { isGrpcContentType, serveGrpcStream, type GrpcProtocolOptions } from "./grpc-protocol";
import { isGrpcWebContentType, serveGrpcWeb } from "./grpc-web-protocol";
import { exchangeOfRequest, exchangeOfStream, type HttpExchange } from "./http-exchange";
import { createJsonCodecs } from "./json-codec";
import { CONNECTION_LIMITS, manageSessions, type ConnectionLimits } from "./http2-sessions";
import { ServiceRegistry, type AnyServiceDefinition } from "./service-registry";

export interface ServiceBuilder<Ext> {
  /** The chain so far, followed by `middleware`. */
  with<More>(middleware: ServerMiddleware<More, Ext>): ServiceBuilder<Ext & More>;
  /** Serves a service through the chain built so far. */
  add<Service extends TsProtoService>(definition: Service, implementation: ServiceHandlers<Service, Ext>): void;
  /** A service whose definition is grpc-js style (e.g. reflection's), with a nice-grpc implementation. */
  addCompat<Service extends CompatServiceDefinition>(
    definition: Service,
    implementation: ServiceImplementation<Service, Ext>,
  ): void;
}

export interface TransportServerOptions extends CallRunnerOptions {
  /** Request field names by number for each method path, to name a field a request could not be read for. */
  readonly requestFields?: ReadonlyMap<string, ReadonlyMap<number, string>>;
  readonly limits?: ConnectionLimits;
  /** Serves gRPC-Web and the Connect protocol too, beside gRPC; absent, only gRPC. */
  readonly web?: {
    readonly cors: CorsPolicy;
    /** The services' FileDescriptorSet, for the JSON form of their messages. */
    readonly descriptorSet: Uint8Array;
  };
}

/** Every call's context carries its scope (`context.scope`) from the start. */
export interface TransportServer extends ServiceBuilder<ScopeContext> {
  /** Every method of every service added so far. */
  readonly methods: readonly MethodInfo[];
  /** Accepts connections on host:port (0 picks a free port); resolves to the port. */
  listen(host: string, port: number, tls?: TlsSettings): Promise<number>;
  /** Connections open now. */
  readonly connections: number;
  /** Stops accepting connections and sends GOAWAY on every one; calls in flight go on. */
  stopAccepting(): Promise<void>;
  /**
   * Resolves when every connection has closed, or after `ms`. After GOAWAY a
   * connection closes once its streams have; a stream whose response has
   * gone out in full while its client keeps the request side open is reset
   * rather than waited for.
   */
  drain(ms: number): Promise<void>;
  /** Stops accepting and drops every connection at once: what still runs is cancelled. */
  destroy(): void;
}

/** How often a draining server looks for streams it may close. */
const DRAIN_POLL_MS = 20;

export function createTransportServer(options: TransportServerOptions): TransportServer {
  const registry = new ServiceRegistry(options.requestFields ?? new Map());
  const limits = options.limits ?? CONNECTION_LIMITS;
  const sessions = manageSessions(limits);
  const grpc: GrpcProtocolOptions = { registry, runner: options };
  const web =
    options.web === undefined
      ? undefined
      : { registry, runner: options, cors: options.web.cors, json: createJsonCodecs(options.web.descriptorSet) };
  const serveHttp = (exchange: HttpExchange): void => {
    if (web === undefined) return refuseUnsupported(exchange);
    if (exchange.method === "OPTIONS") return answerPreflight(web.cors, exchange);
    const contentType = exchange.headers["content-type"];
    if (isGrpcWebContentType(contentType)) return serveGrpcWeb(exchange, web);
    const connect = connectRequestKind(exchange.method, contentType, exchange.query);
    if (connect !== undefined) return serveConnect(exchange, connect, web);
    refuseUnsupported(exchange);
  };
  // Each connection's HTTP/2 session is made here, from the socket the
  // listener accepted, so the session is known with its socket's address.
  const serveHttp2 = (connection: Duplex, socket: Socket): void => {
    const peer = peerOf(socket);
    const session = http2.performServerHandshake(connection, {
      settings: { maxConcurrentStreams: limits.maxConcurrentStreams },
    });
    sessions.add(session);
    session.on(
      "stream",
      (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
        // Reset by its client before it got here (an HTTP/2 rapid reset): nothing to answer.
        if (stream.destroyed) return;
        if (isGrpcContentType(headers["content-type"])) serveGrpcStream(stream, headers, rawHeaders, peer, grpc);
        else serveHttp(exchangeOfStream(stream, headers, rawHeaders, peer));
      },
    );
  };
  // HTTP/1.1 carries the web protocols only (gRPC needs HTTP/2).
  const http1Server = http.createServer((request, response) =>
    serveHttp(exchangeOfRequest(request, response, peerOf(request.socket))),
  );
  const listeners: ConnectionListener[] = [];

  const builder = <Ext>(middleware: ServerMiddleware<unknown, unknown> | undefined): ServiceBuilder<Ext> => ({
    with<More>(next: ServerMiddleware<More, Ext>) {
      const composed =
        middleware === undefined ? next : composeServerMiddleware(middleware, next as ServerMiddleware<More, unknown>);
      return builder<Ext & More>(composed as ServerMiddleware<unknown, unknown>);
    },
    add(definition, implementation) {
      // A ts-proto definition's message types encode and decode: the registry's view of it.
      registry.add(definition as unknown as AnyServiceDefinition, implementation, middleware);
    },
    addCompat(definition, implementation) {
      registry.add(definition, implementation, middleware);
    },
  });

  return {
    ...builder<ScopeContext>(undefined),
    get methods() {
      return registry.all();
    },
    async listen(host, port, tls) {
      const listener = await listenForConnections(host, port, tls, {
        http2: serveHttp2,
        http1: (socket) => http1Server.emit("connection", socket),
      });
      listeners.push(listener);
      return listener.port;
    },
    get connections() {
      return listeners.reduce((sum, listener) => sum + listener.connections, 0);
    },
    async stopAccepting() {
      const stopped = Promise.all(listeners.map((listener) => listener.stopAccepting()));
      sessions.goAwayAll();
      http1Server.closeIdleConnections();
      await stopped;
    },
    async drain(ms) {
      const until = Date.now() + ms;
      while (this.connections > 0 && Date.now() < until) {
        sessions.closeAnsweredStreams();
        http1Server.closeIdleConnections();
        await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
      }
    },
    destroy() {
      sessions.stop();
      sessions.destroyAll();
      http1Server.closeAllConnections();
      for (const listener of listeners) {
        void listener.stopAccepting();
        listener.destroyAll();
      }
    },
  };
}

/** The client's address as grpc-js names it: host:port, IPv6 in brackets. */
function peerOf(socket: Socket): string {
  const { remoteAddress, remotePort } = socket;
  if (remoteAddress === undefined) return "unknown";
  return `${remoteAddress.includes(":") ? `[${remoteAddress}]` : remoteAddress}:${remotePort}`;
}

/** The answer to a request in no protocol the server speaks (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md). */
function refuseUnsupported(exchange: HttpExchange): void {
  exchange.respond(415, { "content-type": "text/plain" });
  exchange.end(
    "this server speaks gRPC (application/grpc over HTTP/2), gRPC-Web (application/grpc-web) and the Connect protocol (application/json, application/proto)\n",
  );
  exchange.body.resume();
}
