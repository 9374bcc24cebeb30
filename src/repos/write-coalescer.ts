// Coalesces independent writes: the items that arrive while earlier batches
// are being written go to the database together, as one statement (group
// commit). Under concurrency this turns N round trips and N commits into one;
// a lone call waits one setImmediate (microseconds) longer than it would alone.
//
// Each item keeps its own cancellation, exactly:
// - stopped while it waits, it leaves the queue: nothing was sent for it;
// - stopped while its batch is being written, the batch's statement is
//   cancelled (on a connection of its own, so the cancel reaches nothing
//   else: src/db/postgres.ts), and the items still wanted are written again
//   in the next batch. A statement is atomic: a cancelled one kept nothing;
// - a cancel that comes after the statement committed changes nothing: the
//   item gets its result, as a lone write would (CallScope.guard then answers
//   with what the store did).
// A batch the database refused (a row it would not take) is written again one
// item at a time, so that one item's failure is its own. A batch whose
// outcome is unknown (the connection was lost: it may have committed) is
// never written again: each of its items fails, as a lone write would.
import type { WorkScope } from "../db/client";

/** Writes every item in one statement, on a connection of `scope`'s; the results in the items' order. */
export type WriteAll<Item, Result> = (items: readonly Item[], scope: WorkScope) => Promise<readonly Result[]>;

export interface WriteCoalescerOptions {
  /** True when `error` proves the statement kept nothing (the database answered it with an error). */
  readonly keptNothing: (error: unknown) => boolean;
  /** Most items in one statement. */
  readonly maxBatchSize?: number;
  /** Batches being written at once; items that arrive meanwhile wait and go together in the next. */
  readonly maxInFlight?: number;
}

interface Pending<Item, Result> {
  readonly item: Item;
  readonly scope: WorkScope;
  /**
   * queued: stopping it takes it out of the queue; batched: stopping it stops
   * `batch`; alone: written on its own scope, which stops it; settled: done.
   */
  state: "queued" | "batched" | "alone" | "settled";
  batch: AbortController | undefined;
  readonly resolve: (result: Result) => void;
  readonly reject: (error: unknown) => void;
  readonly onAbort: () => void;
}

export function createWriteCoalescer<Item, Result>(
  writeAll: WriteAll<Item, Result>,
  options: WriteCoalescerOptions,
): (item: Item, scope: WorkScope) => Promise<Result> {
  const maxBatchSize = options.maxBatchSize ?? 500;
  const maxInFlight = options.maxInFlight ?? 4;
  let queue: Pending<Item, Result>[] = [];
  let inFlight = 0;
  let scheduled = false;

  function settle(pending: Pending<Item, Result>, outcome: () => void): void {
    if (pending.state === "settled") return;
    pending.state = "settled";
    pending.scope.signal.removeEventListener("abort", pending.onAbort);
    outcome();
  }

  function schedule(): void {
    if (scheduled || inFlight >= maxInFlight || queue.length === 0) return;
    scheduled = true;
    setImmediate(flush);
  }

  function flush(): void {
    scheduled = false;
    // Items stopped while they waited have already left (settled).
    queue = queue.filter((pending) => pending.state === "queued");
    while (inFlight < maxInFlight && queue.length > 0) void write(queue.splice(0, maxBatchSize));
  }

  async function write(batch: Pending<Item, Result>[]): Promise<void> {
    inFlight += 1;
    const controller = new AbortController();
    for (const pending of batch) {
      pending.state = "batched";
      pending.batch = controller;
    }
    const scope: WorkScope = {
      signal: controller.signal,
      remainingMs: () => soonest(batch.map((pending) => pending.scope.remainingMs())),
    };
    try {
      // An item stopped between the flush and now stops the batch before it starts.
      if (batch.some((pending) => pending.scope.signal.aborted)) controller.abort();
      const results = await writeAll(
        batch.map((pending) => pending.item),
        scope,
      );
      batch.forEach((pending, index) => settle(pending, () => pending.resolve(results[index] as Result)));
    } catch (error) {
      // Not sent (stopped before it started), or refused: the batch kept nothing.
      const keptNothing = error === controller.signal.reason || options.keptNothing(error);
      if (!keptNothing) {
        for (const pending of batch) settle(pending, () => pending.reject(error));
      } else if (controller.signal.aborted) {
        // Stopped for one of its items: nothing was kept. The others go first in the next batch.
        const wanted: Pending<Item, Result>[] = [];
        for (const pending of batch) {
          if (pending.scope.signal.aborted) settle(pending, () => pending.reject(pending.scope.signal.reason));
          else {
            pending.state = "queued";
            pending.batch = undefined;
            wanted.push(pending);
          }
        }
        queue = [...wanted, ...queue];
      } else if (batch.length > 1) {
        for (const pending of batch) writeAlone(pending);
      } else {
        for (const pending of batch) settle(pending, () => pending.reject(error));
      }
    } finally {
      inFlight -= 1;
      schedule();
    }
  }

  function writeAlone(pending: Pending<Item, Result>): void {
    pending.state = "alone";
    pending.batch = undefined;
    writeAll([pending.item], pending.scope).then(
      (results) => settle(pending, () => pending.resolve(results[0] as Result)),
      (error: unknown) => settle(pending, () => pending.reject(error)),
    );
  }

  return (item, scope) =>
    new Promise<Result>((resolve, reject) => {
      scope.signal.throwIfAborted();
      const pending: Pending<Item, Result> = {
        item,
        scope,
        state: "queued",
        batch: undefined,
        resolve,
        reject,
        onAbort: () => {
          if (pending.state === "queued") settle(pending, () => pending.reject(scope.signal.reason));
          else if (pending.state === "batched") pending.batch?.abort();
        },
      };
      scope.signal.addEventListener("abort", pending.onAbort, { once: true });
      queue.push(pending);
      schedule();
    });
}

/** The smallest of the times given; undefined when none has one. */
function soonest(times: readonly (number | undefined)[]): number | undefined {
  let least: number | undefined;
  for (const time of times) if (time !== undefined && (least === undefined || time < least)) least = time;
  return least;
}
