// gRPC-Web (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md), as
// browsers speak it over HTTP/1.1 or HTTP/2: gRPC's length-prefixed messages
// in an ordinary response body, the status and trailers as a last frame of
// the body (flag 0x80, an HTTP/1 header block), and in text mode
// (application/grpc-web-text) the whole body in base64. Every call kind is
// served: a browser sends one request message, and a client that can stream
// a request body (over HTTP/2) may stream several.
import { ServerError, Status } from "nice-grpc-common";
import { Base64Stream } from "./base64-stream";
import { startCall, type CallChannel, type CallRunnerOptions } from "./call-runner";
import { corsHeaders, type CorsPolicy } from "./cors";
import { envelope } from "./envelope";
import { parseGrpcTimeout } from "./grpc-timeout";
import type { HttpExchange } from "./http-exchange";
import { encodeGrpcMessage } from "./metadata-headers";
import type { ServiceRegistry } from "./service-registry";
import { metadataHeaders, readEnvelopedBody } from "./web-call";

/** The flag of the frame that carries the status and trailers. */
const FLAG_TRAILERS = 0x80;

const PROTOCOL_HEADERS: ReadonlySet<string> = new Set([
  "content-type",
  "content-length",
  "grpc-timeout",
  "grpc-encoding",
  "grpc-accept-encoding",
  "accept-encoding",
  "x-grpc-web",
  "x-user-agent",
  "host",
  "connection",
  "keep-alive",
  "origin",
  "referer",
  "accept",
  "accept-language",
  "te",
]);

export interface WebProtocolOptions {
  readonly registry: ServiceRegistry;
  readonly runner: CallRunnerOptions;
  readonly cors: CorsPolicy;
}

/** True for application/grpc-web and application/grpc-web-text, with or without +proto. */
export function isGrpcWebContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/grpc-web(-text)?(\+proto)?(;|$)/.test(contentType);
}

export function serveGrpcWeb(exchange: HttpExchange, options: WebProtocolOptions): void {
  const text = (exchange.headers["content-type"] as string).startsWith("application/grpc-web-text");
  const contentType = text ? "application/grpc-web-text+proto" : "application/grpc-web+proto";
  const cors = corsHeaders(options.cors, exchange.headers);
  const encode = (bytes: Uint8Array): Uint8Array | string => (text ? Buffer.from(bytes).toString("base64") : bytes);
  const channel: CallChannel = {
    sendHeader(metadata) {
      exchange.respond(200, metadataHeaders({ ...cors, "content-type": contentType }, metadata));
    },
    write: (bytes) => exchange.write(encode(envelope(bytes))),
    ready: (signal) => exchange.drained(signal),
    sendStatus(code, message, trailer) {
      let block = `grpc-status: ${code}\r\n`;
      if (message !== "") block += `grpc-message: ${encodeGrpcMessage(message)}\r\n`;
      for (const [name, value] of Object.entries(metadataHeaders({}, trailer))) {
        for (const one of [value].flat()) block += `${name}: ${String(one)}\r\n`;
      }
      exchange.end(encode(envelope(Buffer.from(block), FLAG_TRAILERS)));
    },
  };
  const refuse = (code: Status, message: string): void => {
    exchange.respond(200, { ...cors, "content-type": contentType });
    channel.sendStatus(code, message, undefined);
    exchange.body.resume();
  };

  if (exchange.method !== "POST") return refuse(Status.UNIMPLEMENTED, "gRPC-Web calls are POST requests");
  const method = options.registry.get(exchange.path);
  if (method === undefined) return refuse(Status.UNIMPLEMENTED, `method ${exchange.path} is not implemented`);
  const encoding = exchange.headers["grpc-encoding"];
  if (encoding !== undefined && encoding !== "identity")
    return refuse(Status.UNIMPLEMENTED, `grpc-encoding ${String(encoding)} is not supported over gRPC-Web`);

  const input = startCall(
    method,
    {
      headers: exchange.headers,
      protocolHeaders: PROTOCOL_HEADERS,
      timeout: parseGrpcTimeout(exchange.headers["grpc-timeout"]),
      timeoutHeader: "grpc-timeout",
      headerBytes: exchange.headerBytes,
      peer: exchange.peer,
      flow: { pause: () => exchange.body.pause(), resume: () => exchange.body.resume() },
      unwrap: (message) => {
        if (message.flags !== 0) throw new ServerError(Status.INTERNAL, "gRPC-Web messages are not compressed");
        return message.data;
      },
    },
    channel,
    options.runner,
  );
  const base64 = new Base64Stream();
  readEnvelopedBody(exchange, input, {
    decode: text ? (chunk) => base64.push(chunk.toString("latin1")) : undefined,
    endOfStream: () => !base64.incomplete,
  });
  exchange.onAbort(() => input.abort());
}
