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
  for (let offset = 0; offset + 5 <= data.length;) {
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
  stream.on("trailers", (received: http2.IncomingHttpHeaders) => (trailers = received));
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

/** An HTTP/2 frame: 9-byte header, then the payload. */
export function http2Frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** An HPACK integer with a 7-bit prefix (RFC 7541 §5.1). */
function hpackInteger(value: number): Buffer {
  if (value < 127) return Buffer.from([value]);
  const bytes = [127];
  for (value -= 127; value >= 128; value >>= 7) bytes.push((value & 127) | 128);
  bytes.push(value);
  return Buffer.from(bytes);
}

/** HPACK "literal header field without indexing, new name" (RFC 7541 §6.2.2), no Huffman. */
function hpackLiteral(name: string, value: string): Buffer {
  const [n, v] = [Buffer.from(name), Buffer.from(value)];
  return Buffer.concat([Buffer.from([0]), hpackInteger(n.length), n, hpackInteger(v.length), v]);
}

/** HTTP/2 frame types that answer a request: its response HEADERS, its RST_STREAM, or the connection's GOAWAY. */
const ANSWER_FRAMES = new Set([0x1, 0x3, 0x7]);

/**
 * Opens a raw TCP connection, speaks the HTTP/2 preface and sends one request
 * whose header block carries these headers (split into HEADERS and
 * CONTINUATION frames as needed). Resolves with the socket once the server
 * has answered the request (HEADERS, RST_STREAM or GOAWAY) or closed.
 */
export async function rawHeadersConnection(
  port: number,
  path: string,
  extra: Record<string, string>,
): Promise<import("node:net").Socket> {
  const net = await import("node:net");
  const headers: Record<string, string> = {
    ":method": "POST",
    ":scheme": "http",
    ":path": path,
    ":authority": "localhost",
    "content-type": "application/grpc",
    te: "trailers",
    ...extra,
  };
  const block = Buffer.concat(Object.entries(headers).map(([name, value]) => hpackLiteral(name, value)));
  const frames: Buffer[] = [];
  for (let offset = 0; offset < block.length; offset += 16_384) {
    const last = offset + 16_384 >= block.length;
    frames.push(http2Frame(offset === 0 ? 0x1 : 0x9, last ? 0x4 : 0, 1, block.subarray(offset, offset + 16_384)));
  }
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => undefined);
  const answered = new Promise<void>((resolve, reject) => {
    // A server that neither answers nor closes fails here, saying so, not at the test's timeout.
    const silent = setTimeout(() => {
      socket.off("data", onData);
      reject(new Error("no HEADERS, RST_STREAM or GOAWAY, and no close, within 5 s"));
    }, 5_000);
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      // Walk whole frames: 9 bytes of header (24-bit length, type, flags, stream id), then the payload.
      while (received.length >= 9) {
        const length = received.readUIntBE(0, 3);
        if (received.length < 9 + length) return;
        const type = received[3]!;
        received = received.subarray(9 + length);
        if (ANSWER_FRAMES.has(type)) return done();
      }
    };
    const done = () => {
      clearTimeout(silent);
      socket.off("data", onData);
      resolve();
    };
    socket.on("data", onData);
    socket.once("close", done);
  });
  socket.write(
    Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), http2Frame(0x4, 0, 0, Buffer.alloc(0)), ...frames]),
  );
  await answered;
  return socket;
}
