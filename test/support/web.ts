// The web protocols by hand, over HTTP/1.1 (as browsers may send them) and
// HTTP/2: a request and its whole response, and gRPC-Web's and Connect's
// framing taken apart, for tests that check the bytes a browser would see.
import http from "node:http";
import http2 from "node:http2";
import { ServerError } from "nice-grpc-common";

export interface WebResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

export interface WebRequest {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array | string;
}

/** One request over HTTP/1.1 (a connection of its own). */
export function http1Request(port: number, request: WebRequest): Promise<WebResponse> {
  return new Promise((resolve, reject) => {
    const sent = http.request(
      {
        host: "127.0.0.1",
        port,
        method: request.method ?? "POST",
        path: request.path,
        headers: request.headers,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    sent.on("error", reject);
    sent.end(request.body);
  });
}

/** One request over HTTP/2 (prior knowledge, a session of its own). */
export function http2Request(port: number, request: WebRequest): Promise<WebResponse> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const stream = session.request({
      ":method": request.method ?? "POST",
      ":path": request.path,
      ...request.headers,
    });
    let headers: Record<string, string | string[] | undefined> = {};
    const chunks: Buffer[] = [];
    stream.on("response", (received) => (headers = received as typeof headers));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      session.close();
      resolve({ status: Number(headers[":status"]), headers, body: Buffer.concat(chunks) });
    });
    stream.on("error", reject);
    stream.end(request.body);
  });
}

/** A gRPC-Web or Connect streaming body: its messages and its last frame (trailers, or end of stream). */
export function unframe(body: Buffer, lastFlag: number): { messages: Buffer[]; last: Buffer | undefined } {
  const messages: Buffer[] = [];
  let last: Buffer | undefined;
  for (let offset = 0; offset + 5 <= body.length;) {
    const length = body.readUInt32BE(offset + 1);
    const data = body.subarray(offset + 5, offset + 5 + length);
    if ((body[offset] as number) & lastFlag) last = data;
    else messages.push(data);
    offset += 5 + length;
  }
  return { messages, last };
}

/** A gRPC-Web trailer frame's header block, as an object. */
export function grpcWebTrailers(block: Buffer | undefined): Record<string, string> {
  const trailers: Record<string, string> = {};
  for (const line of (block ?? Buffer.alloc(0)).toString("latin1").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return trailers;
}

/** A message framed with no flags, for a request body. */
export function envelopeOf(message: Uint8Array, flags = 0): Buffer {
  const framed = Buffer.alloc(5 + message.length);
  framed[0] = flags;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

/** Throws unless the call answered with `code` (a gRPC-Web trailer). */
export function grpcWebStatus(response: WebResponse): { code: number; message: string } {
  const trailers = grpcWebTrailers(unframe(response.body, 0x80).last);
  const code = Number(trailers["grpc-status"] ?? response.headers["grpc-status"]);
  if (Number.isNaN(code)) throw new ServerError(2, "no grpc-status");
  return { code, message: decodeURIComponent(trailers["grpc-message"] ?? "") };
}
