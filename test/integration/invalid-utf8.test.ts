// A string field must hold valid UTF-8 (proto3): a request that breaks the
// rule is INVALID_ARGUMENT naming the field (a batch item by its index), and
// nothing is written. The bytes are sent by hand; client libraries would
// never encode them.
import { Status } from "nice-grpc-common";
import {
  CreateProductRequest,
  GetProductRequest,
  UpdatePriceRequest,
  WatchRequest,
} from "../../gen/product/v1/product";
import { TEST_BACKENDS } from "../support/database";
import { newProduct, productCount } from "../support/products";
import { rawCall, rawSession } from "../support/raw-grpc";
import { serveForSuite, testToken } from "../support/server";

const INVALID: ReadonlyArray<readonly [string, number[]]> = [
  ["a lone 0xFF byte", [0x61, 0xff, 0x62]],
  ["a truncated sequence", [0x61, 0xe2, 0x82]],
  ["an overlong NUL", [0xc0, 0x80]],
  ["a surrogate", [0xed, 0xa0, 0x80]],
  ["a code point above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
];

/** Field `number` (length-delimited) holding `bytes`, appended to a message: for a scalar the last one wins. */
function withField(message: Uint8Array, number: number, bytes: number[]): Uint8Array {
  return Buffer.concat([Buffer.from(message), Buffer.from([(number << 3) | 2, bytes.length]), Buffer.from(bytes)]);
}

describe.each(TEST_BACKENDS)("invalid UTF-8 in a string field on $name", (backend) => {
  const suite = serveForSuite(backend);

  async function call(method: string, messages: Uint8Array[]) {
    const session = rawSession(suite.server.address);
    try {
      return await rawCall(session, `/product.v1.ProductService/${method}`, messages, {
        authorization: `Bearer ${await testToken()}`,
      }).response;
    } finally {
      session.close();
    }
  }

  describe.each(INVALID)("%s", (_, bytes) => {
    test.each([
      ["name", 1],
      ["category_id", 3],
      ["tags", 4],
    ])("CreateProduct's %s is refused and nothing is written", async (field, number) => {
      const category = `utf8-${field}`;
      const request = withField(CreateProductRequest.encode(newProduct(1, category)).finish(), number, bytes);
      expect(await call("CreateProduct", [request])).toMatchObject({
        status: Status.INVALID_ARGUMENT,
        message: `${field}: is not valid UTF-8`,
      });
      expect(await productCount(suite.database.handle.db, category)).toBe(0);
    });

    test("a BatchCreateProducts item is refused by its index and nothing is written", async () => {
      const items: Uint8Array[] = Array.from({ length: 5 }, (_, i) =>
        CreateProductRequest.encode(newProduct(i, "utf8-batch")).finish(),
      );
      items[3] = withField(items[3]!, 1, bytes);
      expect(await call("BatchCreateProducts", items)).toMatchObject({
        status: Status.INVALID_ARGUMENT,
        message: "items[3].name: is not valid UTF-8",
      });
      expect(await productCount(suite.database.handle.db, "utf8-batch")).toBe(0);
    });

    test("ids of GetProduct, UpdatePrice and WatchPrices are refused", async () => {
      expect(
        await call("GetProduct", [withField(GetProductRequest.encode({ id: "" }).finish(), 1, bytes)]),
      ).toMatchObject({ status: Status.INVALID_ARGUMENT, message: "id: is not valid UTF-8" });
      expect(
        await call("UpdatePrice", [
          withField(UpdatePriceRequest.encode(UpdatePriceRequest.fromPartial({ id: "", price: 1 })).finish(), 1, bytes),
        ]),
      ).toMatchObject({ status: Status.INVALID_ARGUMENT, message: "id: is not valid UTF-8" });
      expect(
        await call("WatchPrices", [withField(WatchRequest.encode({ productIds: [] }).finish(), 1, bytes)]),
      ).toMatchObject({ status: Status.INVALID_ARGUMENT, message: "product_ids: is not valid UTF-8" });
    });
  });

  test("valid multi-byte text is kept exactly", async () => {
    const created = await suite.server.client.createProduct({
      ...newProduct(1, "utf8-ok"),
      name: "Tasse à café ☕ 𝄞",
      tags: ["日本", "ß"],
    });
    expect(await suite.server.client.getProduct({ id: created.id })).toMatchObject({
      name: "Tasse à café ☕ 𝄞",
      tags: ["日本", "ß"],
    });
  });
});
