// The request metadata the transport's handlers give the middleware chain
// reads grpc-js's metadata in place; it must answer exactly as the copy that
// nice-grpc's own adapters make would.
import { Metadata as GrpcMetadata } from "@grpc/grpc-js";
import { RequestMetadata } from "../../src/transport/call-context";
import { convertMetadataFromGrpcJs } from "../../src/transport/nice-grpc-internals";

function received(): GrpcMetadata {
  const metadata = new GrpcMetadata();
  metadata.add("authorization", "Bearer abc.def.ghi");
  metadata.add("x-repeated", "one");
  metadata.add("x-repeated", "two");
  metadata.add("trace-bin", Buffer.from([1, 2, 3]));
  metadata.add("trace-bin", Buffer.from([4]));
  return metadata;
}

describe("request metadata read in place", () => {
  const keys = ["authorization", "Authorization", "x-repeated", "trace-bin", "absent", "absent-bin"];

  it.each(keys)("answers get, getAll and has for %s as nice-grpc's copy does", (key) => {
    const copy = convertMetadataFromGrpcJs(received());
    const view = new RequestMetadata(received());
    expect(view.get(key)).toEqual(copy.get(key));
    expect(view.getAll(key)).toEqual(copy.getAll(key));
    expect(view.has(key)).toBe(copy.has(key));
  });

  it("iterates the same entries", () => {
    expect([...new RequestMetadata(received())]).toEqual([...convertMetadataFromGrpcJs(received())]);
  });

  it("writes to a copy of its own, leaving grpc-js's metadata as it came", () => {
    const grpcMetadata = received();
    const view = new RequestMetadata(grpcMetadata);
    view.set("authorization", "Bearer other");
    view.append("x-repeated", "three");
    view.delete("trace-bin");
    expect(view.get("authorization")).toBe("Bearer other");
    expect(view.get("x-repeated")).toBe("one, two, three");
    expect(view.has("trace-bin")).toBe(false);
    expect([...view].map(([key]) => key)).toEqual(["authorization", "x-repeated"]);
    expect(grpcMetadata.get("authorization")).toEqual(["Bearer abc.def.ghi"]);
    expect(grpcMetadata.get("trace-bin")).toHaveLength(2);
  });
});
