// The typed client retries writes safely: it gives each write one
// idempotency key and sends it with every attempt, so a write whose answer
// was lost on the way back is retried and written once. The answers here
// are held back by a TCP proxy between client and server (the test's own),
// so every first attempt is written by the server and given up on by the client.
import { createProductClient, type ProductClient } from "../../src/client";
import { idempotencyKeys } from "../../src/db/schema";
import { TEST_BACKENDS } from "../support/database";
import { newProduct, productCount, streamOf } from "../support/products";
import { serveForSuite, testToken } from "../support/server";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";

describe.each(TEST_BACKENDS)("client retries of writes on $name", (backend) => {
  const suite = serveForSuite(backend);
  let proxy: TcpProxy;
  let products: ProductClient;

  beforeAll(async () => {
    proxy = await startTcpProxy({ host: "127.0.0.1", port: suite.server.port });
    products = createProductClient({
      address: `127.0.0.1:${proxy.port}`,
      insecure: true,
      token: await testToken(),
      retry: { maxAttempts: 6, initialBackoffMs: 10, maxBackoffMs: 50, attemptTimeoutMs: 250 },
    });
    // Connected before the answers are slowed.
    await products.getProduct("00000000-0000-4000-8000-000000000000");
  });
  afterAll(async () => {
    products.close();
    await proxy.close();
  });
  afterEach(() => proxy.setLatency(0));

  test("creates whose first answers were lost are written once and answered with the row written", async () => {
    proxy.setLatency(500);
    setTimeout(() => proxy.setLatency(0), 300);
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) => products.createProduct(newProduct(i, `lost-answer-${i}`))),
    );
    for (const [i, product] of created.entries()) {
      expect(await productCount(suite.database.handle.db, `lost-answer-${i}`)).toBe(1);
      expect(await products.getProduct(product.id)).toEqual(product);
    }
    // The first attempts did reach the server and were answered: these were retries.
    const answered = suite.server.logs.filter(
      (line) => line.method === "/product.v1.ProductService/CreateProduct" && line.code === "OK",
    );
    expect(answered.length).toBeGreaterThanOrEqual(40);
  });

  test("an UpdatePrice and a delete whose answers were lost are retried to their own answers", async () => {
    const product = await products.createProduct(newProduct(1, "lost-update"));
    proxy.setLatency(500);
    setTimeout(() => proxy.setLatency(0), 300);
    const [updated] = await Promise.all([products.updatePrice({ id: product.id, price: 42 })]);
    expect(updated.product?.price).toBe(42);
    proxy.setLatency(500);
    setTimeout(() => proxy.setLatency(0), 300);
    // Without its key, the retry of a delete that happened would be NOT_FOUND.
    await expect(products.deleteProduct({ id: product.id })).resolves.toEqual({});
    expect(await products.getProduct(product.id)).toBeNull();
  });

  test("every write the client sends carries a key, a batch's on its first item", async () => {
    const keys = async () => (await suite.database.handle.db.select().from(idempotencyKeys)).length;
    const before = await keys();
    await products.batchCreateProducts(streamOf(Array.from({ length: 5 }, (_, i) => newProduct(i, "keyed-by-client"))));
    const product = await products.createProduct(newProduct(9, "keyed-by-client"));
    await products.updatePrice({ id: product.id, price: 3 });
    await products.deleteProduct({ id: product.id });
    expect((await keys()) - before).toBe(4);
  });
});
