// gRPC by hand over node:http2, for tests that must send what a well-behaved
// client library never would: a grpc-timeout of any text, a header of the
// test's choosing, message bytes with unknown fields, a stream reset right
// after its request.
import http2 from "node:http2";

export interface RawResponse {
  /** grpc-status, or undefined when the stream ended without one. */
  readonly status: number | undefined;
  readonly message: string | undefined;
  /** Every response message, unframed. */
  readonly messages: Buffer[];
  readonly headers: http2.IncomingHttpHeaders;
}

/** Frames one message as gRPC does: a compression flag, a 4-byte length, the bytes. */
export function frame(message: Uint8Array): Buffer {
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

function unframe(data: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  for (let offset = 0; offset + 5 <= data.length; ) {
    const length = data.readUInt32BE(offset + 1);
    messages.push(data.subarray(offset + 5, offset + 5 + length));
    offset += 5 + length;
  }
  return messages;
}

export function rawSession(address: string): http2.ClientHttp2Session {
  return http2.connect(`http://${address}`);
}

/** Starts a call; `end` false keeps the request side open after the messages. */
export function rawCall(
  session: http2.ClientHttp2Session,
  path: string,
  messages: readonly Uint8Array[],
  headers: Record<string, string> = {},
  end = true,
): { stream: http2.ClientHttp2Stream; response: Promise<RawResponse>; received(): Buffer[] } {
  const stream = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    ...headers,
  });
  const chunks: Buffer[] = [];
  let responseHeaders: http2.IncomingHttpHeaders = {};
  let trailers: http2.IncomingHttpHeaders = {};
  stream.on("response", (received) => (responseHeaders = received));
  stream.on("trailers", (received) => (trailers = received));
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  for (const message of messages) stream.write(frame(message));
  if (end) stream.end();
  const response = new Promise<RawResponse>((resolve) => {
    stream.on("error", () => undefined);
    stream.on("close", () => {
      // A trailers-only response carries its status in the headers.
      const source = trailers["grpc-status"] !== undefined ? trailers : responseHeaders;
      const status = source["grpc-status"];
      resolve({
        status: status === undefined ? undefined : Number(status),
        message: source["grpc-message"] === undefined ? undefined : decodeURIComponent(String(source["grpc-message"])),
        messages: unframe(Buffer.concat(chunks)),
        headers: responseHeaders,
      });
    });
  });
  return { stream, response, received: () => unframe(Buffer.concat(chunks)) };
}
