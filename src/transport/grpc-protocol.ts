// gRPC over HTTP/2 (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md)
// on one request stream of Node's HTTP/2 server: reads the call's headers
// and length-prefixed messages, and answers with headers, messages and
// trailers carrying grpc-status. What the call does is the call runner's.
import { constants as http2Constants, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { promisify } from "node:util";
import { gunzip, inflate } from "node:zlib";
import { waitForEvent } from "abort-controller-x";
import { ServerError, Status } from "nice-grpc-common";
import { MAX_REQUEST_MESSAGE_BYTES, startCall, type CallChannel, type CallRunnerOptions } from "./call-runner";
import { EnvelopeReader, EnvelopeTooLarge, FLAG_COMPRESSED, envelope, type Envelope } from "./envelope";
import { parseGrpcTimeout } from "./grpc-timeout";
import { headerListBytes } from "./http-exchange";
import { addMetadata, encodeGrpcMessage } from "./metadata-headers";
import type { ServiceRegistry } from "./service-registry";

/** Request headers that are the protocol's, not the caller's metadata. */
const PROTOCOL_HEADERS: ReadonlySet<string> = new Set([
  "content-type",
  "te",
  "grpc-timeout",
  "grpc-encoding",
  "grpc-accept-encoding",
  "accept-encoding",
]);

/** Encodings a request message may be compressed with; responses go out uncompressed. */
const DECOMPRESS: Readonly<Record<string, (data: Buffer, options: { maxOutputLength: number }) => Promise<Buffer>>> = {
  gzip: promisify(gunzip),
  deflate: promisify(inflate),
};
const ACCEPTED_ENCODINGS = "identity,gzip,deflate";

/**
 * A failed call's status may wait behind the data already queued, and a
 * client may keep its request side open after its status: such a stream is
 * reset this long after the status, so that nothing waits on it for ever.
 */
const STATUS_READ_MS = 5_000;

export interface GrpcProtocolOptions {
  readonly registry: ServiceRegistry;
  readonly runner: CallRunnerOptions;
}

/** True when the request's content type is gRPC's (application/grpc, +proto, or another +suffix). */
export function isGrpcContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/grpc(\+|;|$)/.test(contentType);
}

export function serveGrpcStream(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  rawHeaders: readonly string[],
  /** The client's address as the log line names it. */
  peer: string,
  options: GrpcProtocolOptions,
): void {
  stream.on("error", () => undefined);
  const method = options.registry.get(headers[":path"] ?? "");
  if (method === undefined)
    return refuseStream(stream, Status.UNIMPLEMENTED, `method ${headers[":path"]} is not implemented`);
  if (headers[":method"] !== "POST") return refuseStream(stream, Status.UNIMPLEMENTED, "gRPC calls are POST requests");
  const encoding = headerValue(headers["grpc-encoding"]) ?? "identity";
  const decompress = DECOMPRESS[encoding];
  if (decompress === undefined && encoding !== "identity")
    return refuseStream(stream, Status.UNIMPLEMENTED, `grpc-encoding ${encoding} is not supported`);

  const reader = new EnvelopeReader(MAX_REQUEST_MESSAGE_BYTES);
  const unwrap = (message: Envelope): Promise<Buffer> | Buffer => {
    if ((message.flags & FLAG_COMPRESSED) === 0) return message.data;
    if (decompress === undefined)
      throw new ServerError(Status.INTERNAL, "a message is flagged compressed but the call has no grpc-encoding");
    return decompress(message.data, { maxOutputLength: MAX_REQUEST_MESSAGE_BYTES }).catch(() => {
      throw new ServerError(
        Status.RESOURCE_EXHAUSTED,
        `a request message could not be decompressed within ${MAX_REQUEST_MESSAGE_BYTES} bytes`,
      );
    });
  };

  const input = startCall(
    method,
    {
      headers,
      protocolHeaders: PROTOCOL_HEADERS,
      timeout: parseGrpcTimeout(headers["grpc-timeout"]),
      timeoutHeader: "grpc-timeout",
      headerBytes: headerListBytes(rawHeaders),
      peer,
      flow: { pause: () => stream.pause(), resume: () => stream.resume() },
      unwrap,
    },
    grpcChannel(stream),
    options.runner,
  );

  stream.on("data", (chunk: Buffer) => {
    try {
      for (const message of reader.push(chunk)) input.message(message);
    } catch (error) {
      if (!(error instanceof EnvelopeTooLarge)) throw error;
      input.abort(new ServerError(Status.RESOURCE_EXHAUSTED, error.message));
    }
  });
  stream.on("end", () => {
    if (reader.incomplete) input.abort(new ServerError(Status.INVALID_ARGUMENT, "the request ended inside a message"));
    else input.end();
  });
  // The client reset the stream or the connection went: a call still open is cancelled.
  stream.on("close", () => input.abort());
}

function grpcChannel(stream: ServerHttp2Stream): CallChannel {
  return {
    sendHeader(metadata) {
      if (stream.headersSent || stream.destroyed) return;
      stream.respond(
        addMetadata(
          {
            ":status": 200,
            "content-type": "application/grpc",
            "grpc-accept-encoding": ACCEPTED_ENCODINGS,
          },
          metadata,
        ),
        { waitForTrailers: true },
      );
    },
    write(bytes) {
      if (stream.destroyed || stream.writableEnded) return true;
      return stream.write(envelope(bytes));
    },
    ready: (signal) => waitForEvent(signal, stream, "drain"),
    sendStatus(code, message, trailer) {
      if (stream.destroyed || stream.writableEnded) return;
      const trailers = addMetadata({}, trailer);
      trailers["grpc-status"] = String(code);
      if (message !== "") trailers["grpc-message"] = encodeGrpcMessage(message);
      stream.once("wantTrailers", () => {
        try {
          stream.sendTrailers(trailers);
        } catch {
          // The stream went away meanwhile: there is nobody to tell.
        }
      });
      stream.end();
      if (code !== Status.OK || !stream.readableEnded) resetUnlessClosed(stream);
    },
  };
}

/** Answers a call that cannot start with its status alone (a Trailers-Only response). */
function refuseStream(stream: ServerHttp2Stream, code: Status, message: string): void {
  if (stream.destroyed) return;
  stream.respond(
    {
      ":status": 200,
      "content-type": "application/grpc",
      "grpc-status": String(code),
      "grpc-message": encodeGrpcMessage(message),
    },
    { endStream: true },
  );
  // Whatever the client still sends is read and dropped, so its window never fills.
  stream.resume();
}

/** A client that keeps its request side open after its status is given a while to read it, then reset. */
function resetUnlessClosed(stream: ServerHttp2Stream): void {
  const timer = setTimeout(() => {
    if (!stream.closed) stream.close(http2Constants.NGHTTP2_CANCEL);
  }, STATUS_READ_MS);
  timer.unref();
  stream.once("close", () => clearTimeout(timer));
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
