// Response metadata (nice-grpc's Metadata) as HTTP headers or trailers, and
// the status message as gRPC escapes it.
import type { OutgoingHttpHeaders } from "node:http2";
import type { Metadata } from "nice-grpc-common";

/** Adds each entry of `metadata` to `headers`: `-bin` values base64-encoded, as gRPC sends them. */
export function addMetadata(headers: OutgoingHttpHeaders, metadata: Metadata | undefined): OutgoingHttpHeaders {
  if (metadata === undefined) return headers;
  for (const [key, values] of metadata) {
    if (values.length === 0) continue;
    headers[key] = key.endsWith("-bin")
      ? values.map((value) => Buffer.from(value as Uint8Array).toString("base64"))
      : values.length === 1
        ? (values[0] as string)
        : (values as string[]);
  }
  return headers;
}

/**
 * grpc-message as the protocol writes it: UTF-8, with every byte outside
 * printable ASCII, and "%" itself, percent-encoded.
 * (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md, "Status-Message")
 */
export function encodeGrpcMessage(message: string): string {
  // The common case, plain ASCII without "%", goes out as it is.
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let encoded = "";
  for (const byte of Buffer.from(message, "utf8")) {
    encoded +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return encoded;
}
