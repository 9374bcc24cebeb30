// Response metadata goes out as HTTP headers (binary values in base64), and
// the status message is percent-encoded exactly where gRPC says.
import { Metadata } from "nice-grpc-common";
import { addMetadata, encodeGrpcMessage } from "../../src/transport/metadata-headers";

describe("encodeGrpcMessage", () => {
  test.each([
    ["plain text", "plain text"],
    ["100% sure", "100%25 sure"],
    ["line\nbreak", "line%0Abreak"],
    ["café", "caf%C3%A9"],
    ["", ""],
    ["~!@#$^&*()", "~!@#$^&*()"],
  ])("%j is sent as %j", (message, encoded) => {
    expect(encodeGrpcMessage(message)).toBe(encoded);
    expect(decodeURIComponent(encoded)).toBe(message);
  });
});

describe("addMetadata", () => {
  test("adds string values as they are and binary ones base64-encoded", () => {
    const metadata = Metadata()
      .set("x-request-id", "abc")
      .set("next-page-token", "t0k")
      .set("trace-bin", [Uint8Array.from([1, 2]), Uint8Array.from([255])]);
    expect(addMetadata({ ":status": 200 }, metadata)).toEqual({
      ":status": 200,
      "x-request-id": "abc",
      "next-page-token": "t0k",
      "trace-bin": ["AQI=", "/w=="],
    });
    expect(addMetadata({}, undefined)).toEqual({});
  });
});
