// Streams for tests of streaming RPCs: a request stream the test writes to
// while the call is open, and a reader of response streams.
import type { PriceUpdate } from "../../gen/product/v1/product";
import { until } from "./wait";

/** A request stream the test writes to, as a client that keeps its stream open. */
export function requestChannel<T>() {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  return {
    send(message: T) {
      queue.push(message);
      wake?.();
    },
    close() {
      closed = true;
      wake?.();
    },
    async *[Symbol.asyncIterator](): AsyncGenerator<T> {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) yield next;
        else if (closed) return;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

/** Reads a response stream in the background; `waitFor(n)` waits until n updates have come. */
export function updatesReader(stream: AsyncIterable<PriceUpdate>) {
  const received: PriceUpdate[] = [];
  let failure: unknown;
  const done = (async () => {
    try {
      for await (const update of stream) received.push(update);
    } catch (error) {
      failure = error;
    }
  })();
  return {
    received,
    done,
    get failure() {
      return failure;
    },
    async waitFor(count: number, timeoutMs = 5_000): Promise<PriceUpdate[]> {
      await until(() => received.length >= count || failure !== undefined, timeoutMs).catch(() => {
        throw new Error(`expected ${count} updates, got ${received.length}`);
      });
      if (failure !== undefined && received.length < count) throw failure as Error;
      return received.slice(0, count);
    },
  };
}
