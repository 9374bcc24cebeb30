// WatchPrices through a real server: current prices at once, then every
// change — through UpdatePrice or plain SQL — and nothing left behind.
import { sql } from "drizzle-orm";
import { Status } from "nice-grpc-common";
import type { PriceUpdate, WatchRequest } from "../../gen/product/v1/product";
import { requestChannel, updatesReader } from "../support/streams";
import { TEST_BACKENDS } from "../support/database";
import { expectStatus, newProduct, UNKNOWN_ID } from "../support/products";
import { serveForSuite, TEST_LIMITS } from "../support/server";
import { openCallsSettled, until } from "../support/wait";

describe.each(TEST_BACKENDS)("WatchPrices on $name", (backend) => {
  const suite = serveForSuite(backend);

  test("sends current prices at once, then changes made through UpdatePrice and through plain SQL", async () => {
    const [a, b] = await Promise.all([
      suite.server.client.createProduct(newProduct(1)),
      suite.server.client.createProduct(newProduct(2)),
    ]);
    const requests = requestChannel<WatchRequest>();
    const controller = new AbortController();
    const reader = updatesReader(suite.server.client.watchPrices(requests, { signal: controller.signal }));

    requests.send({ productIds: [a.id] });
    const [initial] = await reader.waitFor(1);
    expect(initial).toMatchObject({ productId: a.id, newPrice: a.price });
    expect(initial!.updatedAt).toBeInstanceOf(Date);

    await suite.server.client.updatePrice({ id: a.id, price: 42.5 });
    expect((await reader.waitFor(2))[1]).toMatchObject({ productId: a.id, newPrice: 42.5 });

    // A later request adds an id; a repeated id is not sent again.
    requests.send({ productIds: [b.id, a.id] });
    expect((await reader.waitFor(3))[2]).toMatchObject({ productId: b.id, newPrice: b.price });

    // A change made outside the service, by plain SQL.
    await suite.database.handle.db.execute(sql`UPDATE products SET price = 7.25 WHERE id = ${b.id}`);
    expect((await reader.waitFor(4))[3]).toMatchObject({ productId: b.id, newPrice: 7.25 });

    // A change to an unwatched product, or one that leaves the price as it was, sends nothing:
    // changes arrive in commit order, so once a later change has arrived, those would have too.
    const c = await suite.server.client.createProduct(newProduct(3));
    await suite.server.client.updatePrice({ id: c.id, price: 99 });
    await suite.server.client.updatePrice({ id: a.id, price: 42.5 });
    await suite.server.client.updatePrice({ id: b.id, price: 8 });
    expect((await reader.waitFor(5))[4]).toMatchObject({ productId: b.id, newPrice: 8 });
    expect(reader.received).toHaveLength(5);

    expect(suite.server.app.priceWatch.stats()).toEqual({ subscriptions: 1, watchedIds: 2 });
    const watching = openCallsSettled(suite.server.app);
    controller.abort();
    await reader.done;
    // When the client closes, nothing is left subscribed.
    await watching;
    expect(suite.server.app.priceWatch.stats()).toEqual({ subscriptions: 0, watchedIds: 0 });
  });

  test("the stream stays open after the client half-closes", async () => {
    const product = await suite.server.client.createProduct(newProduct(4));
    const requests = requestChannel<WatchRequest>();
    const controller = new AbortController();
    const reader = updatesReader(suite.server.client.watchPrices(requests, { signal: controller.signal }));
    requests.send({ productIds: [product.id] });
    requests.close();
    await reader.waitFor(1);
    await suite.server.client.updatePrice({ id: product.id, price: 3 });
    expect((await reader.waitFor(2))[1]).toMatchObject({ newPrice: 3 });
    controller.abort();
    await reader.done;
  });

  test("a malformed id is INVALID_ARGUMENT naming it; an unknown one NOT_FOUND", async () => {
    const requests = requestChannel<WatchRequest>();
    requests.send({ productIds: ["nope"] });
    const reader = updatesReader(suite.server.client.watchPrices(requests));
    await reader.done;
    expect(Status[(reader.failure as { code: Status }).code]).toBe("INVALID_ARGUMENT");
    expect((reader.failure as { details: string }).details).toBe("product_ids[0]: must be a UUID");

    const unknown = requestChannel<WatchRequest>();
    unknown.send({ productIds: [UNKNOWN_ID] });
    await expectStatus(
      updatesReader(suite.server.client.watchPrices(unknown)).waitFor(1),
      Status.NOT_FOUND,
      `product ${UNKNOWN_ID} not found`,
    );
    await openCallsSettled(suite.server.app);
    expect(suite.server.app.priceWatch.stats()).toEqual({ subscriptions: 0, watchedIds: 0 });
  });

  test("watching more ids than the cap is INVALID_ARGUMENT", async () => {
    const requests = requestChannel<WatchRequest>();
    const ids = Array.from(
      { length: TEST_LIMITS.watchMaxIds + 1 },
      (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    );
    requests.send({ productIds: ids });
    await expectStatus(
      updatesReader(suite.server.client.watchPrices(requests)).waitFor(1),
      Status.INVALID_ARGUMENT,
      `product_ids: a stream may watch at most ${TEST_LIMITS.watchMaxIds} products`,
    );
  });

  test("a slow watcher gets the latest price of each product, and never stalls another", async () => {
    const product = await suite.server.client.createProduct(newProduct(5));
    // The slow one asks for one message and then reads nothing for a while.
    const slowRequests = requestChannel<WatchRequest>();
    const slowController = new AbortController();
    const slow = suite.server.client
      .watchPrices(slowRequests, { signal: slowController.signal })
      [Symbol.asyncIterator]();
    slowRequests.send({ productIds: [product.id] });
    expect((await slow.next()).value).toMatchObject({ newPrice: product.price });

    const fastRequests = requestChannel<WatchRequest>();
    const fastController = new AbortController();
    const fast = updatesReader(suite.server.client.watchPrices(fastRequests, { signal: fastController.signal }));
    fastRequests.send({ productIds: [product.id] });
    await fast.waitFor(1);
    for (let price = 1; price <= 20; price += 1) await suite.server.client.updatePrice({ id: product.id, price });
    // The fast one hears the latest price while the slow one reads nothing (it may
    // hear fewer than 20 changes: a queue keeps only the latest price per product).
    await until(() => fast.received[fast.received.length - 1]?.newPrice === 20);
    expect(fast.received.length).toBeLessThanOrEqual(21);

    // The slow reader, reading again, ends on the latest price.
    let last: PriceUpdate | undefined;
    while (last?.newPrice !== 20) last = (await slow.next()).value as PriceUpdate;
    expect(last.newPrice).toBe(20);
    slowController.abort();
    fastController.abort();
    await fast.done;
  });
});
