// BatchCreateProducts through a real server: all or nothing, in one
// transaction, whatever goes wrong and whenever.
import { Status } from "nice-grpc-common";
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import type { CreateProductRequest } from "../../gen/product/v1/product";
import postgres from "postgres";
import { describeOnPostgres, TEST_BACKENDS } from "../support/database";
import { expectStatus, newProduct, productCount, streamOf } from "../support/products";
import { PROJECT_ROOT } from "../support/commands";
import { serveForSuite, startTestServer, testToken } from "../support/server";
import { openCallsSettled, until } from "../support/wait";

const PROCESSES = path.join(PROJECT_ROOT, "test/support/processes");
const RUN_TS = path.join(PROCESSES, "run-ts.cjs");
const BATCH_METHOD = "/product.v1.ProductService/BatchCreateProducts";

/** Runs the stalling client in its own process; resolves once it has sent every item. */
async function startDoomedClient(address: string, count: number, category: string, mode: "stall" | "half-close") {
  const child = spawn(
    process.execPath,
    [RUN_TS, path.join(PROCESSES, "stalling-batch-client.ts"), address, String(count), category, mode],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, TOKEN: await testToken() },
    },
  );
  await once(child.stdout, "data");
  return {
    async kill() {
      child.kill("SIGKILL");
      await once(child, "exit");
    },
  };
}

describe.each(TEST_BACKENDS)("BatchCreateProducts on $name", (backend) => {
  const CAP = 1_000;
  const suite = serveForSuite(backend, { limits: { batchMaxItems: CAP, watchMaxIds: 10 } });

  test("creates every item, returning them in order with created_count", async () => {
    const items = Array.from({ length: 600 }, (_, i) => newProduct(i, "batch-ok"));
    const response = await suite.server.client.batchCreateProducts(streamOf(items));
    expect(response.createdCount).toBe(600);
    expect(response.products.map((p) => p.name)).toEqual(items.map((item) => item.name));
    expect(response.products.every((p) => p.id.length === 36 && p.inStock && p.createdAt instanceof Date)).toBe(true);
    expect(await productCount(suite.database.handle.db, "batch-ok")).toBe(600);
  });

  test("each product the answer holds is the row stored, field for field", async () => {
    // With values a text or array literal could mangle.
    const items = Array.from({ length: CAP }, (_, i) => ({
      ...newProduct(i, i % 2 === 0 ? "batch-exact" : ""),
      name: `p${i} "quoted" \\back\\slash\t{braces}, commas ünïcödé 🙂`,
      price: i === 7 ? 0 : 0.1 + i / 3,
      tags: i % 3 === 0 ? [] : ['q"uote', "back\\slash", "NULL", "a,b", "{x}", `t${i}`],
    }));
    const { products } = await suite.server.client.batchCreateProducts(streamOf(items));
    expect(new Set(products.map((p) => p.id)).size).toBe(items.length);
    for (const [index, product] of products.entries()) {
      expect(product).toMatchObject({
        name: items[index]?.name,
        price: items[index]?.price,
        category: items[index]?.categoryId,
        tags: items[index]?.tags,
        inStock: true,
      });
    }
    const stored = await Promise.all(products.map((p) => suite.server.client.getProduct({ id: p.id })));
    expect(stored).toEqual(products);
  });

  test("an empty stream creates nothing and says so", async () => {
    expect(await suite.server.client.batchCreateProducts(streamOf([]))).toEqual({ products: [], createdCount: 0 });
  });

  test("an invalid 500th item is INVALID_ARGUMENT naming its index, and leaves zero new rows", async () => {
    const before = await productCount(suite.database.handle.db);
    const items = Array.from({ length: 800 }, (_, i) =>
      i === 499 ? { ...newProduct(i, "batch-bad"), price: -5 } : newProduct(i, "batch-bad"),
    );
    await expectStatus(
      suite.server.client.batchCreateProducts(streamOf(items)),
      Status.INVALID_ARGUMENT,
      "items[499].price: must not be negative",
    );
    expect(await productCount(suite.database.handle.db)).toBe(before);
  });

  test("a stream over the cap is INVALID_ARGUMENT and writes nothing", async () => {
    const before = await productCount(suite.database.handle.db);
    const items = Array.from({ length: CAP + 1 }, (_, i) => newProduct(i, "batch-cap"));
    await expectStatus(
      suite.server.client.batchCreateProducts(streamOf(items)),
      Status.INVALID_ARGUMENT,
      `items: a batch may create at most ${CAP} products; nothing was written`,
    );
    expect(await productCount(suite.database.handle.db)).toBe(before);
  });

  test("a batch whose client goes away mid-stream leaves zero new rows", async () => {
    const before = await productCount(suite.database.handle.db);
    const client = await startDoomedClient(suite.server.address, 300, "batch-gone", "stall");
    // The server has received them all: its call scope counts them as they arrive.
    await until(() =>
      [...suite.server.app.calls.open].some((call) => call.method.path === BATCH_METHOD && call.received === 300),
    );
    await client.kill();
    await until(() =>
      suite.server.logs.some(
        (entry) => entry.method === BATCH_METHOD && entry.code === "CANCELLED" && entry.received === 300,
      ),
    );
    expect(await productCount(suite.database.handle.db)).toBe(before);
  });

  test("a batch still streaming when its deadline passes is DEADLINE_EXCEEDED and leaves zero new rows", async () => {
    // A server whose ceiling is short: no call may take longer than 500 ms.
    const strict = await startTestServer(suite.database, { deadlines: { defaultMs: 200, maxMs: 500 } });
    let endStall = () => {};
    const stalled = new Promise<void>((resolve) => (endStall = resolve));
    try {
      const before = await productCount(suite.database.handle.db);
      async function* itemsThenStall(): AsyncGenerator<CreateProductRequest> {
        for (let i = 0; i < 300; i += 1) yield newProduct(i, "batch-deadline");
        await stalled; // the client goes quiet until the test is over
      }
      const started = Date.now();
      await expectStatus(
        strict.client.batchCreateProducts(itemsThenStall()),
        Status.DEADLINE_EXCEEDED,
        "deadline exceeded",
      );
      expect(Date.now() - started).toBeLessThan(1_400);
      // Its handler has finished, so nothing can be written any more.
      await openCallsSettled(strict.app);
      expect(await productCount(suite.database.handle.db)).toBe(before);
    } finally {
      endStall();
      await strict.close();
    }
  });
});

describeOnPostgres("BatchCreateProducts, cancelled while writing", (backend) => {
  test("a batch whose client goes away after half-closing, while its rows are being written, is rolled back", async () => {
    const database = await backend.open();
    const server = await startTestServer(database);
    // Another session holds a lock that makes the batch's INSERT wait, so the
    // client is sure to go away while the transaction is open.
    const locker = postgres(database.url as string, { max: 1, onnotice: () => undefined });
    try {
      const before = await productCount(database.handle.db);
      await locker.begin(async (tx) => {
        await tx`LOCK TABLE products IN SHARE ROW EXCLUSIVE MODE`;
        const client = await startDoomedClient(server.address, 200, "batch-late", "half-close");
        await until(async () => {
          const [row] =
            await tx`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`;
          return (row?.n ?? 0) > 0;
        });
        await client.kill();
        // The server hears the client go and stops the INSERT waiting on the lock, before the lock goes.
        await until(() => server.logs.some((entry) => entry.method === BATCH_METHOD));
      });
      await until(() => server.logs.some((entry) => entry.method === BATCH_METHOD));
      expect(server.logs.find((entry) => entry.method === BATCH_METHOD)).toMatchObject({
        code: "CANCELLED",
        received: 200,
      });
      expect(await productCount(database.handle.db)).toBe(before);
    } finally {
      await locker.end();
      await server.close();
      await database.close();
    }
  });
});
