// GetProduct, CreateProduct, DeleteProduct and UpdatePrice through a real
// server and client, on every test backend: each promise of DESIGN §3 and
// each bad-input rule, with the database checked for what was (not) written.
import { Status } from "nice-grpc-common";
import { TEST_BACKENDS } from "../support/database";
import { expectStatus, newProduct, productCount, UNKNOWN_ID } from "../support/products";
import { serveForSuite } from "../support/server";

describe.each(TEST_BACKENDS)("unary RPCs on $name", (backend) => {
  const suite = serveForSuite(backend);

  describe("CreateProduct", () => {
    test("returns what was stored: id, created_at and defaults; the price round-trips exactly", async () => {
      const before = Date.now();
      const created = await suite.server.client.createProduct({
        name: "Espresso cup",
        price: 0.1 + 0.2,
        categoryId: "kitchen",
        tags: ["ceramic", "white"],
      });
      expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(created).toMatchObject({
        name: "Espresso cup",
        price: 0.1 + 0.2,
        category: "kitchen",
        inStock: true,
        tags: ["ceramic", "white"],
      });
      expect(created.createdAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(await suite.server.client.getProduct({ id: created.id })).toEqual(created);
    });

    test("200 creates sent at once (written together) each answer with their own product, as stored", async () => {
      const requests = Array.from({ length: 200 }, (_, i) => ({
        name: `same time ${i} "q" \\ {b} ü`,
        price: i + 0.1,
        categoryId: "same-time",
        tags: i % 3 === 0 ? [] : [`t${i}`, "a,b", '"'],
      }));
      const created = await Promise.all(requests.map((request) => suite.server.client.createProduct(request)));
      created.forEach((product, i) => {
        const { categoryId, ...fields } = requests[i]!;
        expect(product).toMatchObject({ ...fields, category: categoryId, inStock: true });
      });
      expect(new Set(created.map((product) => product.id)).size).toBe(200);
      for (const product of created) expect(await suite.server.client.getProduct({ id: product.id })).toEqual(product);
      expect(await productCount(suite.database.handle.db, "same-time")).toBe(200);
    });

    test("accepts the limits themselves: a 200-character name, a price of 0, no category, 32 tags of 50", async () => {
      const created = await suite.server.client.createProduct({
        name: "é".repeat(200),
        price: 0,
        categoryId: "",
        tags: Array.from({ length: 32 }, (_, i) => `${i}`.padEnd(50, "x")),
      });
      expect(created).toMatchObject({ price: 0, category: "" });
      expect(created.tags).toHaveLength(32);
    });

    const badInputs: [string, Record<string, unknown>, RegExp][] = [
      ["an empty name", { name: "" }, /^name: must not be empty$/],
      ["an over-long name", { name: "n".repeat(201) }, /^name: must be at most 200 characters, got 201$/],
      ["a NUL in the name", { name: "a\0b" }, /^name: must not contain NUL characters$/],
      ["a NaN price", { price: Number.NaN }, /^price: must be a finite number$/],
      ["an infinite price", { price: Number.POSITIVE_INFINITY }, /^price: must be a finite number$/],
      ["a negative price", { price: -0.01 }, /^price: must not be negative$/],
      ["an over-long category", { categoryId: "c".repeat(101) }, /^category_id: must be at most 100 characters/],
      ["a NUL in the category", { categoryId: "\0" }, /^category_id: must not contain NUL characters$/],
      [
        "too many tags",
        { tags: Array.from({ length: 33 }, (_, i) => `t${i}`) },
        /^tags: must hold at most 32 tags, got 33$/,
      ],
      ["an over-long tag", { tags: ["ok", "t".repeat(51)] }, /^tags\[1\]: must be at most 50 characters/],
      ["an empty tag", { tags: [""] }, /^tags\[0\]: must not be empty$/],
    ];
    test.each(badInputs)(
      "refuses %s with INVALID_ARGUMENT naming the field, and writes nothing",
      async (_, change, message) => {
        const before = await productCount(suite.database.handle.db);
        await expectStatus(
          suite.server.client.createProduct({ ...newProduct(1), ...change }),
          Status.INVALID_ARGUMENT,
          message,
        );
        expect(await productCount(suite.database.handle.db)).toBe(before);
      },
    );
  });

  describe("GetProduct", () => {
    test("a malformed id is INVALID_ARGUMENT", async () => {
      await expectStatus(
        suite.server.client.getProduct({ id: "not-a-uuid" }),
        Status.INVALID_ARGUMENT,
        "id: must be a UUID",
      );
      await expectStatus(suite.server.client.getProduct({ id: "" }), Status.INVALID_ARGUMENT, "id: must be a UUID");
    });

    test("an unknown id is NOT_FOUND, naming it", async () => {
      await expectStatus(
        suite.server.client.getProduct({ id: UNKNOWN_ID }),
        Status.NOT_FOUND,
        `product ${UNKNOWN_ID} not found`,
      );
    });

    test("concurrent reads, some malformed or unknown, each get their own answer", async () => {
      const created = await Promise.all([1, 2, 3].map((i) => suite.server.client.createProduct(newProduct(i))));
      const calls = [
        ...created.map((product) => suite.server.client.getProduct({ id: product.id })),
        suite.server.client.getProduct({ id: "bad" }),
        suite.server.client.getProduct({ id: UNKNOWN_ID }),
        ...created.map((product) => suite.server.client.getProduct({ id: product.id.toUpperCase() })),
      ];
      const results = await Promise.allSettled(calls);
      const summary = results.map((result) =>
        result.status === "fulfilled" ? result.value.name : Status[(result.reason as { code: Status }).code],
      );
      expect(summary).toEqual([
        "product 1",
        "product 2",
        "product 3",
        "INVALID_ARGUMENT",
        "NOT_FOUND",
        "product 1",
        "product 2",
        "product 3",
      ]);
    });
  });

  describe("DeleteProduct", () => {
    test("deletes, after which the product is NOT_FOUND", async () => {
      const created = await suite.server.client.createProduct(newProduct(7));
      expect(await suite.server.client.deleteProduct({ id: created.id })).toEqual({});
      await expectStatus(suite.server.client.getProduct({ id: created.id }), Status.NOT_FOUND);
      await expectStatus(
        suite.server.client.deleteProduct({ id: created.id }),
        Status.NOT_FOUND,
        `product ${created.id} not found`,
      );
    });

    test("a malformed id is INVALID_ARGUMENT and deletes nothing", async () => {
      const before = await productCount(suite.database.handle.db);
      await expectStatus(
        suite.server.client.deleteProduct({ id: "1; DROP TABLE products" }),
        Status.INVALID_ARGUMENT,
        "id: must be a UUID",
      );
      expect(await productCount(suite.database.handle.db)).toBe(before);
    });
  });

  describe("UpdatePrice", () => {
    test("returns the updated product", async () => {
      const created = await suite.server.client.createProduct(newProduct(8));
      const { product } = await suite.server.client.updatePrice({ id: created.id, price: 12.5 });
      expect(product).toEqual({ ...created, price: 12.5 });
      expect((await suite.server.client.getProduct({ id: created.id })).price).toBe(12.5);
    });

    test.each([
      ["negative", -1, /^price: must not be negative$/],
      ["NaN", Number.NaN, /^price: must be a finite number$/],
      ["infinite", Number.POSITIVE_INFINITY, /^price: must be a finite number$/],
    ])("a %s price is INVALID_ARGUMENT and changes nothing", async (_, price, message) => {
      const created = await suite.server.client.createProduct(newProduct(9));
      await expectStatus(suite.server.client.updatePrice({ id: created.id, price }), Status.INVALID_ARGUMENT, message);
      expect((await suite.server.client.getProduct({ id: created.id })).price).toBe(created.price);
    });

    test("an unknown id is NOT_FOUND; a malformed one INVALID_ARGUMENT", async () => {
      await expectStatus(
        suite.server.client.updatePrice({ id: UNKNOWN_ID, price: 1 }),
        Status.NOT_FOUND,
        `product ${UNKNOWN_ID} not found`,
      );
      await expectStatus(
        suite.server.client.updatePrice({ id: "x", price: 1 }),
        Status.INVALID_ARGUMENT,
        "id: must be a UUID",
      );
    });
  });
});
