// The write coalescer's scheduling and cancellation rules, over a store kept in
// memory that behaves as one statement does: all of a batch is kept, or (when
// its scope aborts first, or a row is refused) none of it. The same rules
// against PostgreSQL and PGlite: test/integration/deadlines.test.ts and unary.test.ts.
import type { WorkScope } from "../../src/db/client";
import { createWriteCoalescer, type WriteAll, type WriteCoalescerOptions } from "../../src/repos/write-coalescer";

/** An error the database answered a statement with: the statement kept nothing. */
class StatementError extends Error {}

function coalesce<Item, Result>(write: WriteAll<Item, Result>, options: Partial<WriteCoalescerOptions> = {}) {
  return createWriteCoalescer(write, { keptNothing: (error) => error instanceof StatementError, ...options });
}

interface Store {
  readonly kept: string[];
  /** The items of every statement, committed or not. */
  readonly statements: string[][];
  /** Resolves the statement in flight (in the order they started). */
  readonly commits: (() => void)[];
  readonly write: (items: readonly string[], scope: WorkScope) => Promise<string[]>;
}

/** A store whose statements commit when the test says so (`held`) or at once. */
function store(held: boolean, refuses: (item: string) => boolean = () => false): Store {
  const kept: string[] = [];
  const statements: string[][] = [];
  const commits: (() => void)[] = [];
  return {
    kept,
    statements,
    commits,
    write: (items, scope) =>
      new Promise<string[]>((resolve, reject) => {
        statements.push([...items]);
        const commit = () => {
          if (items.some(refuses)) return reject(new StatementError("a row was refused"));
          kept.push(...items);
          resolve(items.map((item) => `${item}:kept`));
        };
        if (scope.signal.aborted) return reject(new StatementError("cancelled before it started"));
        scope.signal.addEventListener("abort", () => reject(new StatementError("statement cancelled")), { once: true });
        if (held) commits.push(commit);
        else commit();
      }),
  };
}

function scopeOf(controller = new AbortController()): WorkScope & { controller: AbortController } {
  return { controller, signal: controller.signal, remainingMs: () => undefined };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

test("items of one turn go in one statement, and each gets its own result", async () => {
  const db = store(false);
  const write = coalesce(db.write);
  const results = await Promise.all(["a", "b", "c"].map((item) => write(item, scopeOf())));
  expect(results).toEqual(["a:kept", "b:kept", "c:kept"]);
  expect(db.statements).toEqual([["a", "b", "c"]]);
});

test("items that arrive while the batches in flight are written wait, and go together in the next", async () => {
  const db = store(true);
  const write = coalesce(db.write, { maxInFlight: 1 });
  const first = write("a", scopeOf());
  await turn();
  const later = ["b", "c", "d"].map((item) => write(item, scopeOf()));
  await turn();
  expect(db.statements).toEqual([["a"]]);
  db.commits[0]?.();
  await first;
  await turn();
  db.commits[1]?.();
  expect(await Promise.all(later)).toEqual(["b:kept", "c:kept", "d:kept"]);
  expect(db.statements).toEqual([["a"], ["b", "c", "d"]]);
});

test("a batch is at most maxBatchSize items", async () => {
  const db = store(false);
  const write = coalesce(db.write, { maxBatchSize: 2, maxInFlight: 8 });
  await Promise.all(["a", "b", "c", "d", "e"].map((item) => write(item, scopeOf())));
  expect(db.statements).toEqual([["a", "b"], ["c", "d"], ["e"]]);
});

test("an item stopped while it waits leaves the queue at once, with its reason, and is never sent", async () => {
  const db = store(true);
  const write = coalesce(db.write, { maxInFlight: 1 });
  const first = write("a", scopeOf());
  await turn();
  const stopped = scopeOf();
  const waiting = write("b", stopped);
  const other = write("c", scopeOf());
  stopped.controller.abort(new Error("deadline exceeded"));
  await expect(waiting).rejects.toThrow("deadline exceeded");
  db.commits[0]?.();
  await first;
  await turn();
  db.commits[1]?.();
  await other;
  expect(db.statements).toEqual([["a"], ["c"]]);
  expect(db.kept).toEqual(["a", "c"]);
});

test("an item stopped while its batch is written cancels the statement; the others are written again without it", async () => {
  const db = store(true);
  const write = coalesce(db.write);
  const stopped = scopeOf();
  const calls = [write("a", scopeOf()), write("b", stopped), write("c", scopeOf())];
  await turn();
  expect(db.statements).toEqual([["a", "b", "c"]]);
  stopped.controller.abort(new Error("call cancelled"));
  await expect(calls[1]).rejects.toThrow("call cancelled");
  await turn();
  expect(db.statements).toEqual([
    ["a", "b", "c"],
    ["a", "c"],
  ]);
  db.commits[1]?.();
  expect(await Promise.all([calls[0], calls[2]])).toEqual(["a:kept", "c:kept"]);
  expect(db.kept).toEqual(["a", "c"]);
});

test("a stop that comes after the statement committed changes nothing: the item gets what was kept", async () => {
  const kept: string[] = [];
  const stopped = scopeOf();
  const write = coalesce<string, string>(async (items) => {
    kept.push(...items);
    // Committed; the call is stopped before its answer is handed back.
    stopped.controller.abort(new Error("deadline exceeded"));
    return items.map((item) => `${item}:kept`);
  });
  expect(await write("a", stopped)).toBe("a:kept");
  expect(kept).toEqual(["a"]);
});

test("an item already stopped is refused before it is queued", async () => {
  const db = store(false);
  const write = coalesce(db.write);
  const stopped = scopeOf();
  stopped.controller.abort(new Error("call cancelled"));
  await expect(write("a", stopped)).rejects.toThrow("call cancelled");
  expect(db.statements).toEqual([]);
});

test("a batch with a row the store refuses is written again an item at a time: only that item fails", async () => {
  const db = store(false, (item) => item === "bad");
  const write = coalesce(db.write);
  const outcomes = await Promise.allSettled(["a", "bad", "c"].map((item) => write(item, scopeOf())));
  expect(outcomes.map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  expect(db.statements).toEqual([["a", "bad", "c"], ["a"], ["bad"], ["c"]]);
  expect(db.kept).toEqual(["a", "c"]);
});

test("a lone item's failure is its own error", async () => {
  const db = store(false, () => true);
  const write = coalesce(db.write);
  await expect(write("a", scopeOf())).rejects.toThrow("a row was refused");
  expect(db.statements).toEqual([["a"]]);
});

test("a batch whose outcome is unknown (the connection was lost after it committed) is never written again", async () => {
  const kept: string[] = [];
  let statements = 0;
  const stopped = scopeOf();
  const write = coalesce<string, string>(async (items) => {
    statements += 1;
    kept.push(...items);
    stopped.controller.abort(new Error("call cancelled"));
    throw new Error("connection lost");
  });
  const outcomes = await Promise.allSettled([write("a", scopeOf()), write("b", stopped), write("c", scopeOf())]);
  const reasons = outcomes.map((outcome) => (outcome.status === "rejected" ? String(outcome.reason) : "kept"));
  expect(reasons).toEqual(["Error: connection lost", "Error: connection lost", "Error: connection lost"]);
  expect(statements).toBe(1);
  expect(kept).toEqual(["a", "b", "c"]);
});
