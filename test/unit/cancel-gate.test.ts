// The cancel gate's rules, over cancels the test settles by hand: never more
// than its slots on their way at once, a free slot goes to the one waiting
// longest, and a cancel that waited its bound is dropped.
import { createCancelGate, type Cancellable } from "../../src/db/cancel-gate";
import { until } from "../support/wait";

/** A cancel request that lands (or fails) when the test says. */
function request() {
  let land!: () => void;
  let fail!: (error: Error) => void;
  let sent = false;
  const query: Cancellable = {
    cancel: () => {
      sent = true;
      return new Promise<void>((resolve, reject) => {
        land = resolve;
        fail = reject;
      });
    },
  };
  return {
    query,
    get sent() {
      return sent;
    },
    land: () => land(),
    fail: (error: Error) => fail(error),
  };
}

test("at most `slots` cancels are on their way; the next waits for a slot, oldest first", async () => {
  const gate = createCancelGate({ slots: 2, maxWaitMs: 60_000, slotMs: 60_000 });
  const requests = Array.from({ length: 4 }, request);
  const outcomes = requests.map((r) => gate.cancel(r.query));
  expect(requests.map((r) => r.sent)).toEqual([true, true, false, false]);
  expect(gate.inFlight).toBe(2);
  requests[1]!.land();
  await until(() => requests[2]!.sent);
  expect(requests[3]!.sent).toBe(false);
  requests[0]!.fail(new Error("ECONNREFUSED"));
  await until(() => requests[3]!.sent);
  requests[2]!.land();
  requests[3]!.land();
  expect(await Promise.all(outcomes)).toEqual(["failed", "delivered", "delivered", "delivered"]);
  expect(gate.inFlight).toBe(0);
});

test("a cancel that waited its bound for a slot is dropped, and never sent", async () => {
  const gate = createCancelGate({ slots: 1, maxWaitMs: 50, slotMs: 60_000 });
  const stuck = request();
  const late = request();
  void gate.cancel(stuck.query);
  expect(await gate.cancel(late.query)).toBe("dropped");
  expect(gate.dropped).toBe(1);
  stuck.land();
  await until(() => gate.inFlight === 0);
  expect(late.sent).toBe(false);
});

test("a cancel that never resolves gives its slot back after `slotMs`", async () => {
  const gate = createCancelGate({ slots: 1, maxWaitMs: 60_000, slotMs: 50 });
  const silent = request();
  const next = request();
  const outcomes = [gate.cancel(silent.query), gate.cancel(next.query)];
  expect(await outcomes[0]).toBe("failed");
  await until(() => next.sent);
  next.land();
  expect(await outcomes[1]).toBe("delivered");
});
