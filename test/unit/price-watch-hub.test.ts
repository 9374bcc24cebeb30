import { createPriceWatchHub } from "../../src/services/price-watch-hub";

const at = new Date(0);
const change = (id: string, price: number) => ({ id, price, updatedAt: at });

test("a subscriber's queue keeps only the latest price per product, in first-queued order", async () => {
  const hub = createPriceWatchHub();
  const subscription = hub.subscribe();
  subscription.watch(["a", "b"]);
  for (let price = 1; price <= 1000; price += 1) hub.publish(change("a", price));
  hub.publish(change("b", 5));
  hub.publish(change("a", 1001));
  const updates = await subscription.next(new AbortController().signal);
  expect(updates.map((u) => [u.id, u.price])).toEqual([
    ["a", 1001],
    ["b", 5],
  ]);
});

test("a change heard after watching wins over the initial read", async () => {
  const hub = createPriceWatchHub();
  const subscription = hub.subscribe();
  subscription.watch(["a", "b"]);
  hub.publish(change("a", 2)); // committed after the id was watched, before the read returned
  subscription.offerInitial([change("a", 1), change("b", 7)]);
  const updates = await subscription.next(new AbortController().signal);
  expect(updates.map((u) => [u.id, u.price])).toEqual([
    ["a", 2],
    ["b", 7],
  ]);
});

test("only watchers of a product hear its changes; closing forgets everything", async () => {
  const hub = createPriceWatchHub();
  const one = hub.subscribe();
  const two = hub.subscribe();
  expect(one.watch(["a", "a", "b"])).toEqual(["a", "b"]);
  two.watch(["b"]);
  hub.publish(change("a", 1));
  const signal = new AbortController().signal;
  expect((await one.next(signal)).map((u) => u.id)).toEqual(["a"]);
  expect(hub.stats()).toEqual({ subscriptions: 2, watchedIds: 2 });
  one.close();
  two.close();
  expect(hub.stats()).toEqual({ subscriptions: 0, watchedIds: 0 });
});

test("next() rejects once aborted or failed", async () => {
  const hub = createPriceWatchHub();
  const subscription = hub.subscribe();
  const controller = new AbortController();
  const waiting = subscription.next(controller.signal);
  controller.abort();
  await expect(waiting).rejects.toThrow();
  const failing = hub.subscribe();
  const pending = failing.next(new AbortController().signal);
  failing.fail(new Error("boom"));
  await expect(pending).rejects.toThrow("boom");
});
