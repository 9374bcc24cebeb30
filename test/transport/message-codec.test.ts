// Request messages are read strictly: a string field that is not valid UTF-8
// is refused naming the field, bytes that are not protobuf are refused, and
// neither becomes a value of the request type.
import { CreateProductRequest, Product } from "../../gen/product/v1/product";
import { InvalidMessageError } from "../../src/shared/invalid-message";
import { tsProtoCodec } from "../../src/transport/message-codec";

const FIELDS = new Map([
  [1, "name"],
  [3, "category_id"],
  [4, "tags"],
]);
const codec = tsProtoCodec(CreateProductRequest, Product, FIELDS);

/** Field `number` (length-delimited) holding `bytes`, appended to a message. */
function withField(message: Uint8Array, number: number, bytes: number[]): Uint8Array {
  return Buffer.concat([Buffer.from(message), Buffer.from([(number << 3) | 2, bytes.length]), Buffer.from(bytes)]);
}

const valid = CreateProductRequest.encode(
  CreateProductRequest.fromPartial({ name: "Mug", price: 3, tags: ["a"] }),
).finish();

describe("tsProtoCodec", () => {
  test("skips a field it does not know, whatever its bytes", () => {
    expect(codec.decodeRequest(withField(valid, 9, [0xff]), 0)).toMatchObject({ ok: true, message: { name: "Mug" } });
  });

  test("reads a valid request, multi-byte text included", () => {
    const text = CreateProductRequest.encode(CreateProductRequest.fromPartial({ name: "Tasse ☕ 𝄞" })).finish();
    expect(codec.decodeRequest(text, 0)).toMatchObject({ ok: true, message: { name: "Tasse ☕ 𝄞" } });
  });

  test.each([
    ["name", 1, [0x61, 0xff]],
    ["category_id", 3, [0xc0, 0x80]],
    ["tags", 4, [0xed, 0xa0, 0x80]],
    ["field 5", 5, [0xf4, 0x90, 0x80, 0x80]],
  ])("refuses invalid UTF-8 in %s, naming it", (field, number, bytes) => {
    const decoded = codec.decodeRequest(withField(valid, number, bytes), 4);
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.error).toBeInstanceOf(InvalidMessageError);
    expect(decoded.error).toMatchObject({ field, description: "is not valid UTF-8", index: 4 });
    expect(decoded.error.details).toBe(`${field}: is not valid UTF-8`);
  });

  test.each([
    ["a truncated length", [0x0a, 0x05, 0x61]],
    ["an invalid wire type", [0x0f]],
    ["a truncated varint", [0x10, 0xff]],
  ])("refuses %s as not protobuf", (_, bytes) => {
    const decoded = codec.decodeRequest(Uint8Array.from(bytes), 0);
    expect(decoded).toMatchObject({
      ok: false,
      error: { field: undefined, details: "the request message is not valid protobuf" },
    });
  });

  test("encodes a partial response with its defaults filled in", () => {
    expect(Product.decode(codec.encodeResponse({ name: "x" }))).toMatchObject({ name: "x", price: 0, tags: [] });
  });
});
