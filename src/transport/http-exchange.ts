// One HTTP request and its response, whichever HTTP version carries it: the
// web protocols (gRPC-Web, Connect) run the same over HTTP/1.1, which
// browsers may use, and HTTP/2, which they choose on TLS.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { Readable } from "node:stream";
import { waitForEvent } from "abort-controller-x";

export interface HttpExchange {
  readonly method: string;
  /** The path without its query. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** The size of the header list as HTTP/2 counts it (name + value + 32 per field). */
  readonly headerBytes: number;
  readonly peer: string;
  /** The request content. */
  readonly body: Readable;
  readonly responded: boolean;
  respond(status: number, headers: OutgoingHttpHeaders): void;
  /** False when the client is behind: wait for drained(). */
  write(chunk: Uint8Array | string): boolean;
  drained(signal: AbortSignal): Promise<void>;
  end(chunk?: Uint8Array | string): void;
  /** Called once if the client goes away before the response has ended. */
  onAbort(listener: () => void): void;
}

export function exchangeOfStream(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  rawHeaders: readonly string[],
  peer: string,
): HttpExchange {
  const url = new URL(headers[":path"] ?? "/", "http://localhost");
  stream.on("error", () => undefined);
  return {
    method: headers[":method"] ?? "GET",
    path: url.pathname,
    query: url.searchParams,
    headers,
    headerBytes: headerListBytes(rawHeaders),
    peer,
    body: stream,
    get responded() {
      return stream.headersSent;
    },
    respond(status, responseHeaders) {
      if (!stream.destroyed && !stream.headersSent) stream.respond({ ...responseHeaders, ":status": status });
    },
    write: (chunk) => (stream.destroyed || stream.writableEnded ? true : stream.write(chunk)),
    drained: (signal) => waitForEvent(signal, stream, "drain"),
    end(chunk) {
      if (!stream.destroyed && !stream.writableEnded) stream.end(chunk);
    },
    onAbort(listener) {
      stream.once("close", () => {
        if (!stream.writableFinished) listener();
      });
    },
  };
}

export function exchangeOfRequest(request: IncomingMessage, response: ServerResponse, peer: string): HttpExchange {
  const url = new URL(request.url ?? "/", "http://localhost");
  response.on("error", () => undefined);
  return {
    method: request.method ?? "GET",
    path: url.pathname,
    query: url.searchParams,
    headers: request.headers,
    headerBytes: headerListBytes(request.rawHeaders),
    peer,
    body: request,
    get responded() {
      return response.headersSent;
    },
    respond(status, responseHeaders) {
      if (!response.headersSent && !response.destroyed) response.writeHead(status, responseHeaders);
    },
    write: (chunk) => (response.destroyed || response.writableEnded ? true : response.write(chunk)),
    drained: (signal) => waitForEvent(signal, response, "drain"),
    end(chunk) {
      if (!response.destroyed && !response.writableEnded) response.end(chunk);
    },
    onAbort(listener) {
      response.once("close", () => {
        if (!response.writableFinished) listener();
      });
    },
  };
}

/** A header list's size as HTTP/2 counts it (RFC 9113 §6.5.2), from Node's flat [name, value, …] list. */
export function headerListBytes(rawHeaders: readonly string[]): number {
  let bytes = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    bytes += (rawHeaders[i] as string).length + (rawHeaders[i + 1] as string).length + 32;
  return bytes;
}
