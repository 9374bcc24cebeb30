// The Connect protocol (https://connectrpc.com/docs/protocol), with JSON
// (proto3's canonical mapping) or binary bodies: a unary call is a plain POST
// (or, for a method without side effects, a GET a browser or a CDN may
// cache) whose body is the message and whose HTTP status says how it went,
// an error being a JSON body with the same google.rpc details as gRPC's; a
// streaming call (of any kind: full-duplex needs HTTP/2) is enveloped
// messages each way, the response ending in a JSON end-of-stream message.
import type { OutgoingHttpHeaders } from "node:http2";
import { promisify } from "node:util";
import { gunzip, gunzipSync } from "node:zlib";
import { ServerError, Status, type Metadata } from "nice-grpc-common";
import { InvalidMessageError } from "../shared/invalid-message";
import { MAX_REQUEST_MESSAGE_BYTES, startCall, type CallChannel, type CallInput } from "./call-runner";
import { corsHeaders } from "./cors";
import { envelope, FLAG_COMPRESSED, type Envelope } from "./envelope";
import type { ParsedTimeout } from "./grpc-timeout";
import type { HttpExchange } from "./http-exchange";
import type { JsonCodecs, MethodJson } from "./json-codec";
import { decodeRpcStatus } from "./rpc-status";
import type { RegisteredMethod } from "./service-registry";
import { metadataHeaders, readBody, readEnvelopedBody } from "./web-call";
import type { WebProtocolOptions } from "./grpc-web-protocol";

/** The end-of-stream message of a streaming response. */
const FLAG_END_STREAM = 0x02;
const DETAILS_KEY = "grpc-status-details-bin";
const gunzipAsync = promisify(gunzip);

const PROTOCOL_HEADERS: ReadonlySet<string> = new Set([
  "content-type",
  "content-length",
  "content-encoding",
  "accept-encoding",
  "connect-protocol-version",
  "connect-timeout-ms",
  "connect-content-encoding",
  "connect-accept-encoding",
  "host",
  "connection",
  "keep-alive",
  "origin",
  "referer",
  "accept",
  "accept-language",
  "te",
]);

/** Connect's code names, by gRPC status code. */
const CODE_NAMES = [
  "ok",
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
] as const;

/** The HTTP status of a unary error, by gRPC status code (the protocol's table). */
const HTTP_STATUSES = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

export interface ConnectOptions extends WebProtocolOptions {
  readonly json: JsonCodecs;
}

type Codec = "json" | "proto";

/** A request in the Connect protocol: its codec, and whether it is a stream; undefined when it is not Connect. */
export function connectRequestKind(
  method: string,
  contentType: string | undefined,
  query: URLSearchParams,
): { codec: string; streaming: boolean } | undefined {
  if (method === "GET") return { codec: query.get("encoding") ?? "", streaming: false };
  const match = contentType === undefined ? null : /^application\/(connect\+)?([\w.-]+)\s*(;.*)?$/.exec(contentType);
  if (match === null) return undefined;
  return { codec: match[2] as string, streaming: match[1] !== undefined };
}

/** connect-timeout-ms: at most 10 digits of milliseconds. */
export function parseConnectTimeout(header: string | string[] | undefined): ParsedTimeout {
  if (header === undefined) return { kind: "absent" };
  return typeof header === "string" && /^\d{1,10}$/.test(header)
    ? { kind: "timeout", ms: Number(header) }
    : { kind: "malformed" };
}

export function serveConnect(
  exchange: HttpExchange,
  kind: { codec: string; streaming: boolean },
  options: ConnectOptions,
): void {
  const cors = corsHeaders(options.cors, exchange.headers);
  const fail = (httpStatus: number, code: Status, message: string, headers: OutgoingHttpHeaders = {}): void => {
    exchange.respond(httpStatus, { ...cors, ...headers, "content-type": "application/json" });
    exchange.end(JSON.stringify(errorJson(code, message, undefined)));
    exchange.body.resume();
  };
  const method = options.registry.get(exchange.path);
  if (method === undefined) return fail(404, Status.UNIMPLEMENTED, `method ${exchange.path} is not implemented`);
  if (kind.codec !== "json" && kind.codec !== "proto")
    return fail(415, Status.INTERNAL, `the ${kind.codec} codec is not supported: use json or proto`);
  const json = kind.codec === "json" ? options.json.of(method.path) : undefined;
  if (kind.codec === "json" && json === undefined)
    return fail(415, Status.INTERNAL, `${method.path} has no JSON form here: use proto`);
  const streaming = method.requestStream || method.responseStream;
  if (streaming !== kind.streaming)
    return fail(
      415,
      Status.INTERNAL,
      streaming
        ? `${method.path} is a streaming method: send application/connect+${kind.codec}`
        : `${method.path} is a unary method: send application/${kind.codec}`,
    );
  const version = exchange.headers["connect-protocol-version"];
  if (version !== undefined && version !== "1")
    return fail(400, Status.INVALID_ARGUMENT, "connect-protocol-version must be 1");
  if (exchange.method === "GET" && method.descriptor.options.idempotencyLevel !== "NO_SIDE_EFFECTS")
    return fail(405, Status.UNIMPLEMENTED, `${method.path} has side effects: send it as a POST`, { allow: "POST" });
  if (exchange.method !== "GET" && exchange.method !== "POST")
    return fail(405, Status.UNIMPLEMENTED, "Connect calls are POST (or GET) requests", { allow: "POST, GET" });
  const encoding = requestEncoding(exchange, kind.streaming);
  if (encoding !== "identity" && encoding !== "gzip")
    return fail(501, Status.UNIMPLEMENTED, `the ${encoding} encoding is not supported: use gzip or identity`);

  const codec: Codec = kind.codec;
  const channel = kind.streaming
    ? streamChannel(exchange, cors, codec, json)
    : unaryChannel(exchange, cors, codec, json);
  const input = startCall(
    method,
    {
      headers: exchange.headers,
      protocolHeaders: PROTOCOL_HEADERS,
      timeout: parseConnectTimeout(exchange.headers["connect-timeout-ms"]),
      timeoutHeader: "connect-timeout-ms",
      headerBytes: exchange.headerBytes,
      peer: exchange.peer,
      flow: { pause: () => exchange.body.pause(), resume: () => exchange.body.resume() },
      unwrap: (message) => message.data,
    },
    channel,
    options.runner,
  );
  exchange.onAbort(() => input.abort());
  if (kind.streaming) readStreamingRequest(exchange, input, json, encoding);
  else void readUnaryRequest(exchange, input, method, json, encoding);
}

function requestEncoding(exchange: HttpExchange, streaming: boolean): string {
  const header = streaming ? exchange.headers["connect-content-encoding"] : exchange.headers["content-encoding"];
  const fromQuery = exchange.method === "GET" ? exchange.query.get("compression") : null;
  return (fromQuery ?? (typeof header === "string" ? header : undefined) ?? "identity").toLowerCase();
}

/** A unary request's one message: the body, or the GET request's query. */
async function readUnaryRequest(
  exchange: HttpExchange,
  input: CallInput,
  method: RegisteredMethod,
  json: MethodJson | undefined,
  encoding: string,
): Promise<void> {
  try {
    let bytes: Buffer;
    if (exchange.method === "GET") {
      const message = exchange.query.get("message") ?? "";
      bytes = exchange.query.get("base64") === "1" ? Buffer.from(message, "base64url") : Buffer.from(message, "utf8");
      exchange.body.resume();
    } else {
      bytes = await readBody(exchange, MAX_REQUEST_MESSAGE_BYTES);
    }
    // An empty body is never decompressed (the protocol says so).
    if (encoding === "gzip" && bytes.length > 0) bytes = await decompress(bytes);
    const data = json === undefined ? bytes : Buffer.from(json.requestFromJson(bytes.toString("utf8")));
    input.message({ flags: 0, data });
    input.end();
  } catch (error) {
    input.abort(asStatus(error, method));
  }
}

function readStreamingRequest(
  exchange: HttpExchange,
  input: CallInput,
  json: MethodJson | undefined,
  encoding: string,
): void {
  readEnvelopedBody(exchange, input, {
    convert(message: Envelope): Envelope {
      let data = message.data;
      if ((message.flags & FLAG_COMPRESSED) !== 0) {
        if (encoding !== "gzip")
          throw new ServerError(Status.INTERNAL, "a message is flagged compressed but the call has no encoding");
        data = gunzipSync(data, { maxOutputLength: MAX_REQUEST_MESSAGE_BYTES });
      }
      return { flags: 0, data: json === undefined ? data : Buffer.from(json.requestFromJson(data.toString("utf8"))) };
    },
  });
}

async function decompress(bytes: Buffer): Promise<Buffer> {
  try {
    return await gunzipAsync(bytes, { maxOutputLength: MAX_REQUEST_MESSAGE_BYTES });
  } catch {
    throw new ServerError(
      Status.RESOURCE_EXHAUSTED,
      `the request body could not be decompressed within ${MAX_REQUEST_MESSAGE_BYTES} bytes`,
    );
  }
}

function asStatus(error: unknown, method: RegisteredMethod): ServerError {
  if (error instanceof ServerError) return error;
  return new InvalidMessageError(undefined, `the request is not a valid message of ${method.path}`, 0);
}

/** A unary response: its headers wait for the status, which decides the HTTP status and carries the trailers. */
function unaryChannel(
  exchange: HttpExchange,
  cors: OutgoingHttpHeaders,
  codec: Codec,
  json: MethodJson | undefined,
): CallChannel {
  let header: Metadata | undefined;
  let answer: Uint8Array | undefined;
  return {
    sendHeader(metadata) {
      header = metadata;
    },
    write(bytes) {
      answer = bytes;
      return true;
    },
    ready: () => Promise.resolve(),
    sendStatus(code, message, trailer) {
      const headers = metadataHeaders(
        metadataHeaders({ ...cors }, header),
        trailer,
        "trailer-",
        new Set([DETAILS_KEY]),
      );
      if (code === Status.OK && answer !== undefined) {
        exchange.respond(200, { ...headers, "content-type": `application/${codec}` });
        exchange.end(json === undefined ? answer : json.responseToJson(answer));
        return;
      }
      exchange.respond(HTTP_STATUSES[code] ?? 500, { ...headers, "content-type": "application/json" });
      exchange.end(JSON.stringify(errorJson(code, message, trailer)));
    },
  };
}

function streamChannel(
  exchange: HttpExchange,
  cors: OutgoingHttpHeaders,
  codec: Codec,
  json: MethodJson | undefined,
): CallChannel {
  return {
    sendHeader(metadata) {
      exchange.respond(200, metadataHeaders({ ...cors, "content-type": `application/connect+${codec}` }, metadata));
    },
    write: (bytes) => exchange.write(envelope(json === undefined ? bytes : Buffer.from(json.responseToJson(bytes)))),
    ready: (signal) => exchange.drained(signal),
    sendStatus(code, message, trailer) {
      const end: { error?: ErrorJson; metadata?: Record<string, string[]> } = {};
      if (code !== Status.OK) end.error = errorJson(code, message, trailer);
      const metadata = metadataHeaders({}, trailer, "", new Set([DETAILS_KEY]));
      if (Object.keys(metadata).length > 0)
        end.metadata = Object.fromEntries(
          Object.entries(metadata).map(([key, value]) => [key, [value].flat().map(String)]),
        );
      exchange.end(envelope(Buffer.from(JSON.stringify(end)), FLAG_END_STREAM));
    },
  };
}

interface ErrorJson {
  readonly code: string;
  readonly message?: string;
  readonly details?: readonly { readonly type: string; readonly value: string }[];
}

/** Connect's error: the code's name, the message, and the google.rpc details the trailer carries. */
function errorJson(code: Status, message: string, trailer: Metadata | undefined): ErrorJson {
  const error: { code: string; message?: string; details?: { type: string; value: string }[] } = {
    code: CODE_NAMES[code] ?? "unknown",
  };
  if (message !== "") error.message = message;
  const details = trailer?.get(DETAILS_KEY);
  if (details instanceof Uint8Array) {
    error.details = decodeRpcStatus(details).details.map((detail) => ({
      type: detail.typeUrl.slice(detail.typeUrl.lastIndexOf("/") + 1),
      value: Buffer.from(detail.value).toString("base64").replace(/=+$/, ""),
    }));
  }
  return error;
}
