// The request metadata the transport gives the middleware chain reads the
// request's HTTP headers in place; it must answer exactly as nice-grpc's own
// Metadata holding the same entries would, and hide the protocol's headers.
import type { IncomingHttpHeaders } from "node:http2";
import { Metadata } from "nice-grpc-common";
import { RequestMetadata } from "../../src/transport/request-metadata";

const PROTOCOL = new Set(["content-type", "te", "grpc-timeout"]);

/** As Node's HTTP/2 presents them: repeated headers joined with ", ". */
function headers(): IncomingHttpHeaders {
  return {
    ":method": "POST",
    ":path": "/product.v1.ProductService/GetProduct",
    "content-type": "application/grpc",
    te: "trailers",
    "grpc-timeout": "1S",
    authorization: "Bearer abc.def.ghi",
    "x-repeated": "one, two",
    "trace-bin": `${Buffer.from([1, 2, 3]).toString("base64")}, ${Buffer.from([4]).toString("base64")}`,
  };
}

function expected(): Metadata {
  return Metadata()
    .set("authorization", "Bearer abc.def.ghi")
    .set("x-repeated", "one, two")
    .set("trace-bin", [Uint8Array.from([1, 2, 3]), Uint8Array.from([4])]);
}

describe("request metadata read in place", () => {
  const keys = ["authorization", "Authorization", "x-repeated", "trace-bin", "absent", "absent-bin", "te", ":path"];

  it.each(keys)("answers get, getAll and has for %s as nice-grpc's Metadata does", (key) => {
    const view = new RequestMetadata(headers(), PROTOCOL);
    const metadata = expected();
    expect(view.get(key)).toEqual(metadata.get(key));
    expect(view.getAll(key)).toEqual(metadata.getAll(key));
    expect(view.has(key)).toBe(metadata.has(key));
  });

  it("iterates the same entries, without pseudo-headers or the protocol's", () => {
    expect([...new RequestMetadata(headers(), PROTOCOL)]).toEqual([...expected()]);
  });

  it("writes to a copy of its own, leaving the headers as they came", () => {
    const received = headers();
    const view = new RequestMetadata(received, PROTOCOL);
    view.set("authorization", "Bearer other");
    view.append("x-repeated", "three");
    view.delete("trace-bin");
    expect(view.get("authorization")).toBe("Bearer other");
    expect(view.get("x-repeated")).toBe("one, two, three");
    expect(view.has("trace-bin")).toBe(false);
    expect([...view].map(([key]) => key)).toEqual(["authorization", "x-repeated"]);
    expect(received.authorization).toBe("Bearer abc.def.ghi");
    expect(received["trace-bin"]).toContain(",");
  });
});
