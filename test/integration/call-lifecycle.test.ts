// Every call ends, whatever its client does, and holds nothing per message
// while it runs: cancelled streams finish their handlers at once, a pool of
// one connection stays correct after a cancel mid-result, long streams keep
// a flat heap, a reset stream does no work, and WatchPrices ignores unknown
// fields as proto3 requires.
import http2 from "node:http2";
import { sql } from "drizzle-orm";
import { Status } from "nice-grpc-common";
import { GetProductRequest, PriceUpdate, WatchRequest } from "../../gen/product/v1/product";
import { TEST_BACKENDS, type TestDatabase } from "../support/database";
import { heapUsedAfterGc, MiB } from "../support/heap";
import { newProduct, UNKNOWN_ID } from "../support/products";
import { rawCall, rawSession } from "../support/raw-grpc";
import { serveForSuite, testToken } from "../support/server";
import { requestChannel } from "../support/streams";
import { until } from "../support/wait";

/** Inserts `count` products in `category` in one statement. */
async function seed(database: TestDatabase, category: string, count: number): Promise<void> {
  await database.handle.db.execute(sql`
    INSERT INTO products (name, price, category, tags)
    SELECT 'product ' || i, i, ${category}, ARRAY['t' || (i % 3)] FROM generate_series(1, ${count}::int) i`);
}

/** Limits the long-stream tests reach past the defaults. */
const LIMITS = { limits: { batchMaxItems: 1_000, watchMaxIds: 100 } };

describe.each(TEST_BACKENDS)("cancelled and long calls on $name, with a pool of one connection", (backend) => {
  const suite = serveForSuite(backend, LIMITS, { poolMax: 1 });

  beforeAll(async () => {
    await seed(suite.database, "many", 5_000);
  });

  test("50 ListProducts cancelled mid-stream all finish within a second, and the heap comes back", async () => {
    const before = await heapUsedAfterGc();
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        const controller = new AbortController();
        let received = 0;
        try {
          for await (const _ of suite.server.client.listProducts(
            { category: "many", pageSize: 0, pageToken: "" },
            { signal: controller.signal },
          )) {
            received += 1;
            if (received === 1_500) controller.abort();
          }
        } catch {
          // aborted by this test
        }
      }),
    );
    // Handlers (not just statuses) have finished: nothing holds a page or a connection.
    expect(await until(() => suite.server.app.calls.open.size === 0, 1_000)).toBeLessThan(1_000);
    const cancelled = suite.server.logs.filter(
      (line) =>
        line.msg === "call" && line.method === "/product.v1.ProductService/ListProducts" && line.code === "CANCELLED",
    );
    expect(cancelled.length).toBeGreaterThanOrEqual(50);
    expect((await heapUsedAfterGc()) - before).toBeLessThan(16 * MiB);
  });

  test("after a ListProducts cancelled mid-result, the next 1,000 calls on the same pool all answer correctly", async () => {
    const controller = new AbortController();
    const iterator = suite.server.client
      .listProducts({ category: "many", pageSize: 0, pageToken: "" }, { signal: controller.signal })
      [Symbol.asyncIterator]();
    await iterator.next();
    controller.abort();
    await iterator.next().catch(() => undefined);
    const created = await suite.server.client.createProduct(newProduct(1, "after-cancel"));
    let price = created.price;
    for (let i = 0; i < 1_000; i += 1) {
      if (i % 2 === 0) {
        expect(await suite.server.client.getProduct({ id: created.id })).toEqual({ ...created, price });
      } else {
        price = i;
        expect((await suite.server.client.updatePrice({ id: created.id, price })).product).toEqual({
          ...created,
          price,
        });
      }
    }
  });

  test("a client that cancels one call never cancels or corrupts another's", async () => {
    const product = await suite.server.client.createProduct(newProduct(2, "pair"));
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const controller = new AbortController();
        const cancelled = suite.server.client.listProducts(
          { category: "many", pageSize: 0, pageToken: "" },
          { signal: controller.signal },
        );
        const other = suite.server.client.updatePrice({ id: product.id, price: 1_000 + i });
        // Not a wait: the 0–4 ms spread makes the cancels land at different
        // points of the stream (before the query, mid-rows, after), which is
        // what this test is about.
        setTimeout(() => controller.abort(), i % 5);
        await (async () => {
          for await (const _ of cancelled);
        })().catch(() => undefined);
        return (await other).product?.price;
      }),
    );
    expect(outcomes).toEqual(Array.from({ length: 100 }, (_, i) => 1_000 + i));
  });
});

describe.each(TEST_BACKENDS)("memory of long calls on $name", (backend) => {
  const suite = serveForSuite(backend, LIMITS);

  test("a 200,000-product ListProducts holds nothing per message: the heap is flat from its 25% mark to its end", async () => {
    await seed(suite.database, "huge", 200_000);
    let received = 0;
    let atQuarter = 0;
    for await (const _ of suite.server.client.listProducts({ category: "huge", pageSize: 0, pageToken: "" })) {
      received += 1;
      if (received === 50_000) atQuarter = await heapUsedAfterGc();
    }
    const atEnd = await heapUsedAfterGc();
    expect(received).toBe(200_000);
    expect(atEnd - atQuarter).toBeLessThan(8 * MiB);
  }, 180_000);

  test("a WatchPrices stream through 50,000 updates holds nothing per message", async () => {
    await seed(suite.database, "watched", 50);
    const rows: unknown = await suite.database.handle.db.execute(
      sql`SELECT id FROM products WHERE category = 'watched'`,
    );
    const ids = (Array.isArray(rows) ? rows : (rows as { rows: { id: string }[] }).rows).map(
      (row: { id: string }) => row.id,
    );
    const requests = requestChannel<WatchRequest>();
    const controller = new AbortController();
    const updates = suite.server.client.watchPrices(requests, { signal: controller.signal })[Symbol.asyncIterator]();
    requests.send({ productIds: ids });
    for (let i = 0; i < ids.length; i += 1) await updates.next(); // the current prices
    let atQuarter = 0;
    for (let round = 0; round < 1_000; round += 1) {
      for (const id of ids) suite.server.app.priceWatch.publish({ id, price: round, updatedAt: new Date() });
      for (let i = 0; i < ids.length; i += 1) await updates.next();
      if (round === 250) atQuarter = await heapUsedAfterGc();
    }
    const atEnd = await heapUsedAfterGc();
    controller.abort();
    await updates.next().catch(() => undefined);
    expect(atEnd - atQuarter).toBeLessThan(4 * MiB);
  }, 120_000);
});

describe.each(TEST_BACKENDS)("streams reset before their handler runs, on $name", (backend) => {
  const suite = serveForSuite(backend, LIMITS);

  test("an HTTP/2 rapid reset gets no work done", async () => {
    const session = rawSession(suite.server.address);
    const authorization = `Bearer ${await testToken()}`;
    const request = GetProductRequest.encode({ id: UNKNOWN_ID }).finish();
    const ids: string[] = [];
    try {
      for (let i = 0; i < 300; i += 1) {
        const requestId = `reset-${i}`;
        ids.push(requestId);
        const { stream } = rawCall(session, "/product.v1.ProductService/GetProduct", [request], {
          authorization,
          "x-request-id": requestId,
        });
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }
      // A plain call on the same connection still works afterwards.
      const { response } = rawCall(session, "/product.v1.ProductService/GetProduct", [request], { authorization });
      expect((await response).status).toBe(Status.NOT_FOUND);
    } finally {
      session.close();
    }
    await until(() => suite.server.app.calls.open.size === 0);
    const lines = suite.server.logs.filter((line) => line.msg === "call" && ids.includes(line.requestId as string));
    const worked = lines.filter((line) => line.code === "NOT_FOUND").length;
    // Each reset stream either never became a call or ended CANCELLED without looking anything up.
    expect(worked).toBeLessThanOrEqual(15);
  });
});

describe.each(TEST_BACKENDS)("WatchPrices requests with unknown fields on $name", (backend) => {
  const suite = serveForSuite(backend, LIMITS);

  test("are read for the fields the server knows, as proto3 requires", async () => {
    const product = await suite.server.client.createProduct(newProduct(1, "unknown-fields"));
    const known = Buffer.from(WatchRequest.encode({ productIds: [product.id] }).finish());
    const unknown = Buffer.concat([
      Buffer.from([0x10, 0x96, 0x01]), // field 2, varint 150
      Buffer.from([0x1a, 0x03, 0x61, 0x62, 0x63]), // field 3, bytes "abc"
      Buffer.from([0x21, 1, 2, 3, 4, 5, 6, 7, 8]), // field 4, fixed64
      Buffer.from([0x2d, 1, 2, 3, 4]), // field 5, fixed32
      Buffer.from([0x33, 0x08, 0x01, 0x34]), // field 6, a group holding field 1
      Buffer.from([0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01]), // field 536870911, varint 1
    ]);
    const session = rawSession(suite.server.address);
    try {
      const call = rawCall(
        session,
        "/product.v1.ProductService/WatchPrices",
        [Buffer.concat([unknown, known, unknown])],
        { authorization: `Bearer ${await testToken()}` },
        false,
      );
      await until(() => call.received().length > 0 || call.stream.closed);
      expect(call.received().map((bytes) => PriceUpdate.decode(bytes))).toEqual([
        expect.objectContaining({ productId: product.id, newPrice: product.price }),
      ]);
      call.stream.close();
    } finally {
      session.close();
    }
  });
});
