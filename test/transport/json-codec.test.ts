// A method's JSON form: proto3's canonical JSON, read strictly, naming what is
// wrong; written as protobuf-es writes it.
import { CreateProductRequest, Product } from "../../gen/product/v1/product";
import { descriptorSet } from "../../gen/descriptor_set";
import { InvalidMessageError } from "../../src/shared/invalid-message";
import { createJsonCodecs } from "../../src/transport/json-codec";

const codecs = createJsonCodecs(descriptorSet);
const create = codecs.of("/product.v1.ProductService/CreateProduct");

function refusal(text: string): string {
  try {
    create?.requestFromJson(text);
  } catch (error) {
    if (error instanceof InvalidMessageError) return error.details;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("JSON codecs", () => {
  test("read both spellings of a field name into the binary encoding", () => {
    for (const text of [
      '{"name":"Mug","price":3,"categoryId":"k","tags":["a"]}',
      '{"name":"Mug","price":3,"category_id":"k","tags":["a"]}',
    ])
      expect(CreateProductRequest.decode(create?.requestFromJson(text) as Uint8Array)).toMatchObject({
        name: "Mug",
        price: 3,
        categoryId: "k",
        tags: ["a"],
      });
  });

  test.each([
    ["{", "the request body is not valid JSON"],
    ["[]", "the request must be a JSON object of product.v1.CreateProductRequest"],
    ['{"colour":"red"}', "colour: is not a field of product.v1.CreateProductRequest"],
    ['{"price":"cheap"}', 'price: expected number (float64), got "cheap"'],
    ['{"tags":[1]}', "tags: list item #1: expected string, got 1"],
    ['{"name":"\\udc00x"}', "name: is not valid Unicode"],
    ['{"tags":["ok","\\ud800"]}', "tags[1]: is not valid Unicode"],
  ])("refuse %s", (text, message) => {
    expect(refusal(text)).toBe(message);
  });

  test("write a response in canonical JSON", () => {
    const bytes = Product.encode(
      Product.fromPartial({
        id: "i",
        name: "Mug",
        price: 3,
        inStock: true,
        createdAt: new Date("2026-01-02T03:04:05.678Z"),
      }),
    ).finish();
    expect(JSON.parse(codecs.of("/product.v1.ProductService/GetProduct")?.responseToJson(bytes) as string)).toEqual({
      id: "i",
      name: "Mug",
      price: 3,
      inStock: true,
      createdAt: "2026-01-02T03:04:05.678Z",
    });
  });

  test("know only the methods the descriptors describe", () => {
    expect(codecs.of("/product.v1.ProductService/Nope")).toBeUndefined();
  });
});
