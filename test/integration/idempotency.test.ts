// Writes a client can retry safely (AIP-155): a request repeated with its
// request_id is answered as the first was and writes nothing again, however
// the repeats arrive (one after another, or racing); a key reused for a
// different request is refused; keys are forgotten after their window.
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { Status } from "nice-grpc-common";
import { BatchCreateResponse, type CreateProductRequest, type Product } from "../../gen/product/v1/product";
import { createWriteRunner, type WriteRunner } from "../../src/repos/idempotency-repo";
import { idempotencyKeys } from "../../src/db/schema";
import { TEST_BACKENDS, type TestDatabase } from "../support/database";
import { expectStatus, newProduct, productCount, streamOf } from "../support/products";
import { serveForSuite } from "../support/server";
import { until } from "../support/wait";

const unbounded = { signal: new AbortController().signal, remainingMs: () => undefined };

describe.each(TEST_BACKENDS)("idempotency keys on $name", (backend) => {
  const suite = serveForSuite(backend);
  const keyedProduct = (category: string, requestId: string): CreateProductRequest => ({
    ...newProduct(1, category),
    requestId,
  });

  test("a create repeated with its key writes one row and gets the same product", async () => {
    const request = keyedProduct("retried-create", randomUUID());
    const first = await suite.server.client.createProduct(request);
    // The first answer is taken to be lost: the client sends the request again.
    const second = await suite.server.client.createProduct(request);
    expect(second).toEqual(first);
    expect(await productCount(suite.database.handle.db, "retried-create")).toBe(1);
  });

  test("the key is compared without case: a UUID is a UUID", async () => {
    const key = randomUUID();
    const first = await suite.server.client.createProduct(keyedProduct("key-case", key));
    expect(await suite.server.client.createProduct(keyedProduct("key-case", key.toUpperCase()))).toEqual(first);
    expect(await productCount(suite.database.handle.db, "key-case")).toBe(1);
  });

  test("racing duplicates write once and all get the same answer", async () => {
    const request = keyedProduct("racing-create", randomUUID());
    const answers = await Promise.all(Array.from({ length: 20 }, () => suite.server.client.createProduct(request)));
    expect(new Set(answers.map((product) => product.id)).size).toBe(1);
    expect(await productCount(suite.database.handle.db, "racing-create")).toBe(1);
  });

  test("a key reused for a different request is refused, and nothing is written", async () => {
    const key = randomUUID();
    const first = await suite.server.client.createProduct(keyedProduct("reused-key", key));
    await expectStatus(
      suite.server.client.createProduct({ ...keyedProduct("reused-key", key), price: 99 }),
      Status.INVALID_ARGUMENT,
      "request_id: was used for a different request; send a new request_id with a new request",
    );
    // Nor for another method: the key names one request.
    await expectStatus(
      suite.server.client.deleteProduct({ id: first.id, requestId: key }),
      Status.INVALID_ARGUMENT,
      /^request_id: was used/,
    );
    expect(await productCount(suite.database.handle.db, "reused-key")).toBe(1);
    expect(await suite.server.client.getProduct({ id: first.id })).toEqual(first);
  });

  test("a request_id that is not a UUID is refused before anything is written", async () => {
    await expectStatus(
      suite.server.client.createProduct(keyedProduct("bad-key", "retry-1")),
      Status.INVALID_ARGUMENT,
      "request_id: must be a UUID",
    );
    await expectStatus(
      suite.server.client.updatePrice({ id: randomUUID(), price: 1, requestId: "x" }),
      Status.INVALID_ARGUMENT,
      "request_id: must be a UUID",
    );
    expect(await productCount(suite.database.handle.db, "bad-key")).toBe(0);
  });

  test("a delete repeated with its key is OK again; without a key it is NOT_FOUND", async () => {
    const product = await suite.server.client.createProduct(newProduct(1, "keyed-delete"));
    const request = { id: product.id, requestId: randomUUID() };
    await suite.server.client.deleteProduct(request);
    await expect(suite.server.client.deleteProduct(request)).resolves.toEqual({});
    await expectStatus(suite.server.client.deleteProduct({ id: product.id }), Status.NOT_FOUND);
  });

  test("a failed write records no key: its retry runs again", async () => {
    const request = { id: randomUUID(), requestId: randomUUID() };
    await expectStatus(suite.server.client.deleteProduct(request), Status.NOT_FOUND);
    const [row] = await suite.database.handle.db
      .select()
      .from(idempotencyKeys)
      .where(sql`${idempotencyKeys.requestId} = ${request.requestId}`);
    expect(row).toBeUndefined();
    await expectStatus(suite.server.client.deleteProduct(request), Status.NOT_FOUND);
  });

  test("an UpdatePrice repeated with its key gets its own answer, not the price set since", async () => {
    const product = await suite.server.client.createProduct(newProduct(1, "keyed-price"));
    const request = { id: product.id, price: 5, requestId: randomUUID() };
    const first = await suite.server.client.updatePrice(request);
    await suite.server.client.updatePrice({ id: product.id, price: 6 });
    expect(await suite.server.client.updatePrice(request)).toEqual(first);
    expect((await suite.server.client.getProduct({ id: product.id })).price).toBe(6);
  });

  test("a batch repeated with its key writes its products once", async () => {
    const key = randomUUID();
    const items = (): CreateProductRequest[] =>
      Array.from({ length: 25 }, (_, i) => ({ ...newProduct(i, "keyed-batch"), requestId: i === 0 ? key : "" }));
    const first = await suite.server.client.batchCreateProducts(streamOf(items()));
    const second = await suite.server.client.batchCreateProducts(streamOf(items()));
    expect(second).toEqual(first);
    expect(first.createdCount).toBe(25);
    expect(await productCount(suite.database.handle.db, "keyed-batch")).toBe(25);
    // The same key with one item changed is another request.
    const changed = items();
    changed[24] = { ...changed[24]!, price: 1_000 };
    await expectStatus(
      suite.server.client.batchCreateProducts(streamOf(changed)),
      Status.INVALID_ARGUMENT,
      /^request_id: was used/,
    );
    expect(await productCount(suite.database.handle.db, "keyed-batch")).toBe(25);
  });

  test("a batch item whose key differs from the first item's is refused", async () => {
    const items = [
      { ...newProduct(0, "mixed-keys"), requestId: randomUUID() },
      { ...newProduct(1, "mixed-keys"), requestId: randomUUID() },
    ];
    await expectStatus(
      suite.server.client.batchCreateProducts(streamOf(items)),
      Status.INVALID_ARGUMENT,
      /^items\[1\]\.request_id: must be empty or equal the first item's/,
    );
    expect(await productCount(suite.database.handle.db, "mixed-keys")).toBe(0);
  });
});

describe.each(TEST_BACKENDS)("idempotency key retention on $name", (backend) => {
  const suite = serveForSuite(backend, { idempotencyRetentionMs: 300 });
  /** True once no unexpired key is left among these (expired or already swept by the server). */
  const expired = (requestIds: readonly string[]) => async () => {
    const keys = await suite.database.handle.db
      .select({ requestId: idempotencyKeys.requestId })
      .from(idempotencyKeys)
      .where(sql`${idempotencyKeys.expiresAt} > now()`);
    return keys.every((key) => !requestIds.includes(key.requestId));
  };

  test("after its window a key is forgotten: the same request writes again", async () => {
    const request = { ...newProduct(1, "expired-key"), requestId: randomUUID() };
    const first = await suite.server.client.createProduct(request);
    expect((await suite.server.client.createProduct(request)).id).toBe(first.id);
    await until(expired([request.requestId]));
    const later = await suite.server.client.createProduct(request);
    expect(later.id).not.toBe(first.id);
    expect(await productCount(suite.database.handle.db, "expired-key")).toBe(2);
  });
});

describe.each(TEST_BACKENDS)("the idempotency key sweep on $name", (backend) => {
  // A database no server uses: a server sweeps expired keys itself, and could
  // delete them between their expiry and the sweep this test counts.
  let database: TestDatabase;
  beforeAll(async () => {
    database = await backend.open();
  });
  afterAll(() => database.close());

  test("deletes expired keys, and only those", async () => {
    const codec = { encode: () => new Uint8Array([1]), decode: () => "stored" };
    const write = (writes: WriteRunner, requestId: string) =>
      writes.run(unbounded, { requestId, fingerprint: new Uint8Array([1]) }, codec, async () => "written");
    const expiring = createWriteRunner(database.handle, { retentionMs: 1 });
    for (let i = 0; i < 5; i += 1) await write(expiring, randomUUID());
    // Kept for a minute by a server that keeps keys that long.
    const writes = createWriteRunner(database.handle, { retentionMs: 60_000, sweepBatchSize: 2 });
    const lasting = randomUUID();
    await write(writes, lasting);
    const unexpired = async () =>
      (
        await database.handle.db
          .select({ requestId: idempotencyKeys.requestId })
          .from(idempotencyKeys)
          .where(sql`${idempotencyKeys.expiresAt} > now()`)
      ).length;
    await until(async () => (await unexpired()) === 1);
    expect(await writes.sweep()).toBe(5);
    const left = await database.handle.db.select({ requestId: idempotencyKeys.requestId }).from(idempotencyKeys);
    expect(left.map((row) => row.requestId)).toEqual([lasting]);
  });
});

describe.each(TEST_BACKENDS)("a batch response over the message limit on $name", (backend) => {
  const suite = serveForSuite(backend, { limits: { batchMaxItems: 100_000, watchMaxIds: 50 } });
  const LIMIT = 4 * 1024 * 1024;
  // The largest product a client may send: 200-character name, 32 tags of 50.
  const big = (i: number, category: string): CreateProductRequest => ({
    name: `${String(i).padStart(6, "0")}${"n".repeat(194)}`,
    price: i + 0.5,
    categoryId: category,
    tags: Array.from({ length: 32 }, (_, t) => `${String(t).padStart(2, "0")}${"t".repeat(48)}`),
    requestId: "",
  });
  /** A stored product's encoded size in a BatchCreateResponse, at most: its created_at's nanos take up to 5 bytes. */
  const worstItemBytes = (category: string) => {
    const name = 3 + 200; // a 200-byte length takes two bytes
    const tags = 32 * (2 + 50);
    const product = 38 + name + 9 + (2 + category.length) + 2 + (2 + 6 + 6) + tags;
    return 3 + product;
  };

  test("a batch whose response would pass 4 MiB is refused before it commits, and says how to split it", async () => {
    const count = Math.floor(LIMIT / worstItemBytes("over-limit")) + 20;
    await expectStatus(
      suite.server.client.batchCreateProducts(streamOf(Array.from({ length: count }, (_, i) => big(i, "over-limit")))),
      Status.INVALID_ARGUMENT,
      new RegExp(
        `^items: the response to ${count} products would be \\d+ bytes, over the ${LIMIT}-byte message limit; nothing was written: send at most \\d+ such products per batch$`,
      ),
    );
    expect(await productCount(suite.database.handle.db, "over-limit")).toBe(0);
  });

  test("the documented figure holds: 45,000 products with short names and a tag fit in the limit", () => {
    // Stored as the server would answer them, with the widest created_at (999 ms: five bytes of nanos).
    const products = Array.from({ length: 45_000 }, (_, i) => ({
      id: "ffffffff-ffff-4fff-bfff-ffffffffffff",
      ...newProduct(i, "general"),
      category: "general",
      inStock: true,
      createdAt: new Date("2026-11-24T23:59:59.999Z"),
    }));
    expect(BatchCreateResponse.encode({ products, createdCount: products.length }).finish().length).toBeLessThan(LIMIT);
  });

  test("the largest batch that fits commits, and a client with the default limits receives it", async () => {
    const count = Math.floor((LIMIT - 16) / worstItemBytes("under-limit"));
    const response = await suite.server.client.batchCreateProducts(
      streamOf(Array.from({ length: count }, (_, i) => big(i, "under-limit"))),
    );
    expect(response.createdCount).toBe(count);
    expect(await productCount(suite.database.handle.db, "under-limit")).toBe(count);
    const size = BatchCreateResponse.encode(response).finish().length;
    expect(size).toBeLessThanOrEqual(LIMIT);
    // Within a product (and the varying width of timestamps) of the limit: the boundary, not a comfortable margin.
    expect(size).toBeGreaterThan(LIMIT - worstItemBytes("under-limit") - 6 * count);
    expect(response.products.every((product: Product, i: number) => product.name === big(i, "").name)).toBe(true);
  });
});
