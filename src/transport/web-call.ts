// What the web protocols share: a call started from an HTTP exchange, its
// request body read as a stream of messages, and its metadata written as
// headers the way each protocol writes them.
import type { OutgoingHttpHeaders } from "node:http2";
import { ServerError, Status, type Metadata } from "nice-grpc-common";
import { MAX_REQUEST_MESSAGE_BYTES, type CallInput } from "./call-runner";
import { EnvelopeReader, EnvelopeTooLarge, type Envelope } from "./envelope";
import type { HttpExchange } from "./http-exchange";

/**
 * Feeds the request body to the call as messages: `decode` turns each chunk
 * into the envelope bytes it carries (base64 text, for one), `convert` each
 * message into the binary encoding the method reads (JSON, for one).
 */
export function readEnvelopedBody(
  exchange: HttpExchange,
  input: CallInput,
  options: {
    readonly decode?: (chunk: Buffer) => Buffer;
    readonly convert?: (envelope: Envelope) => Envelope;
    readonly endOfStream?: () => boolean;
  } = {},
): void {
  const reader = new EnvelopeReader(MAX_REQUEST_MESSAGE_BYTES);
  const fail = (error: unknown): void => {
    if (error instanceof EnvelopeTooLarge) input.abort(new ServerError(Status.RESOURCE_EXHAUSTED, error.message));
    else if (error instanceof ServerError) input.abort(error);
    else input.abort(new ServerError(Status.INVALID_ARGUMENT, error instanceof Error ? error.message : String(error)));
    exchange.body.resume();
  };
  let failed = false;
  exchange.body.on("data", (chunk: Buffer) => {
    if (failed) return;
    try {
      for (const envelope of reader.push(options.decode === undefined ? chunk : options.decode(chunk)))
        input.message(options.convert === undefined ? envelope : options.convert(envelope));
    } catch (error) {
      failed = true;
      fail(error);
    }
  });
  exchange.body.on("end", () => {
    if (failed) return;
    if (reader.incomplete || options.endOfStream?.() === false)
      input.abort(new ServerError(Status.INVALID_ARGUMENT, "the request ended inside a message"));
    else input.end();
  });
  exchange.body.on("error", () => input.abort());
}

/** Reads a whole request body of at most `limit` bytes; rejects with RESOURCE_EXHAUSTED past it. */
export function readBody(exchange: HttpExchange, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    exchange.body.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > limit) {
        reject(new ServerError(Status.RESOURCE_EXHAUSTED, `the request body exceeds ${limit} bytes`));
        exchange.body.resume();
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    exchange.body.on("end", () => resolve(Buffer.concat(chunks, bytes)));
    exchange.body.on("error", reject);
  });
}

/** Metadata as headers (or, with `prefix`, as Connect's prefixed trailers); binary values in unpadded base64. */
export function metadataHeaders(
  headers: OutgoingHttpHeaders,
  metadata: Metadata | undefined,
  prefix = "",
  skip: ReadonlySet<string> = new Set(),
): OutgoingHttpHeaders {
  if (metadata === undefined) return headers;
  for (const [key, values] of metadata) {
    if (values.length === 0 || skip.has(key)) continue;
    headers[`${prefix}${key}`] = key.endsWith("-bin")
      ? values.map((value) =>
          Buffer.from(value as Uint8Array)
            .toString("base64")
            .replace(/=+$/, ""),
        )
      : (values as string[]);
  }
  return headers;
}
