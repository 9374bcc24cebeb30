// The typed client retries writes safely: it gives each write one
// idempotency key and sends it with every attempt, so a write whose answer
// was lost on the way back is retried and written once. The answers here
// are held back by a TCP proxy between client and server (the test's own)
// until the server has written every first attempt, which the client has
// meanwhile given up on.
import { createProductClient, type ProductClient } from "../../src/client";
import { idempotencyKeys } from "../../src/db/schema";
import { TEST_BACKENDS } from "../support/database";
import { newProduct, productCount, streamOf } from "../support/products";
import { serveForSuite, testToken } from "../support/server";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";
import { until } from "../support/wait";

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
      // Attempts enough to outlast the held answers on a slow machine; each is given up after a second.
      retry: { maxAttempts: 30, initialBackoffMs: 10, maxBackoffMs: 50, attemptTimeoutMs: 1_000 },
      defaultDeadlineMs: 60_000,
    });
    // Connected before the answers are slowed.
    await products.getProduct("00000000-0000-4000-8000-000000000000");
  });
  afterAll(async () => {
    products.close();
    await proxy.close();
  });
  afterEach(() => proxy.releaseReplies());

  /** Holds the server's answers back until `written()` holds, then lets them through. */
  async function loseAnswersUntil(written: () => Promise<boolean>): Promise<void> {
    proxy.holdReplies();
    try {
      await until(written, 20_000);
    } finally {
      proxy.releaseReplies();
    }
  }

  test("creates whose first answers were lost are written once and answered with the row written", async () => {
    const requestId = (i: number) => `lost-answer-${i}`;
    const answers = (i: number) =>
      suite.server.logs.filter((line) => line.requestId === requestId(i) && line.code === "OK").length;
    // Every create is answered twice by the server (its first attempt, then a retry) before the client hears either.
    const creating = loseAnswersUntil(async () =>
      Array.from({ length: 20 }, (_, i) => answers(i)).every((n) => n >= 2),
    );
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        products.createProduct(newProduct(i, `lost-answer-${i}`), { requestId: requestId(i) }),
      ),
    );
    await creating;
    for (const [i, product] of created.entries()) {
      expect(await productCount(suite.database.handle.db, `lost-answer-${i}`)).toBe(1);
      expect(await products.getProduct(product.id)).toEqual(product);
    }
    // The first attempts did reach the server and were answered: what the client heard were retries.
    for (let i = 0; i < 20; i += 1) expect(answers(i)).toBeGreaterThanOrEqual(2);
  });

  test("an UpdatePrice and a delete whose answers were lost are retried to their own answers", async () => {
    const product = await products.createProduct(newProduct(1, "lost-update"));
    const answeredTwice = (requestId: string) => async () =>
      suite.server.logs.filter((line) => line.requestId === requestId && line.code === "OK").length >= 2;
    const updating = loseAnswersUntil(answeredTwice("lost-update"));
    const updated = await products.updatePrice({ id: product.id, price: 42 }, { requestId: "lost-update" });
    await updating;
    expect(updated.product?.price).toBe(42);
    const deleting = loseAnswersUntil(answeredTwice("lost-delete"));
    // Without its key, the retry of a delete that happened would be NOT_FOUND.
    await expect(products.deleteProduct({ id: product.id }, { requestId: "lost-delete" })).resolves.toEqual({});
    await deleting;
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
