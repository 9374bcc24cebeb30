// The batch loader's rules, over a loader whose queries the test answers by
// hand: keys of one turn share a query; a caller that stops leaves at once
// with its own reason; the query is cancelled (its scope aborts) when, and
// only when, its last caller has left; a failed query fails only those who
// shared it. The same against PostgreSQL: test/integration/shared-read-cancel.test.ts.
import type { WorkScope } from "../../src/db/client";
import { createBatchLoader } from "../../src/repos/batch-loader";

interface Query {
  readonly keys: readonly string[];
  readonly scope: WorkScope;
  answer(): void;
}

function loader() {
  const queries: Query[] = [];
  const load = createBatchLoader<string, string>(
    (keys, scope) =>
      new Promise((resolve, reject) => {
        scope.signal.addEventListener("abort", () => reject(scope.signal.reason as Error), { once: true });
        queries.push({ keys, scope, answer: () => resolve(new Map(keys.map((key) => [key, `row ${key}`]))) });
      }),
    { maxBatchSize: 3 },
  );
  return { load, queries };
}

function caller(remainingMs?: number) {
  const controller = new AbortController();
  const scope: WorkScope = { signal: controller.signal, remainingMs: () => remainingMs };
  return { scope, stop: (reason = new Error("deadline exceeded")) => controller.abort(reason) };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

test("keys asked for in one turn share a query, which lasts as long as its longest caller", async () => {
  const { load, queries } = loader();
  const results = Promise.all([load("a", caller(100).scope), load("b", caller(900).scope), load("a", caller(5).scope)]);
  await turn();
  expect(queries.map((query) => query.keys)).toEqual([["a", "b"]]);
  expect(queries[0]!.scope.remainingMs()).toBe(900);
  queries[0]!.answer();
  expect(await results).toEqual(["row a", "row b", "row a"]);
});

test("a caller that stops leaves with its own reason; the query goes on for the others", async () => {
  const { load, queries } = loader();
  const leaving = caller();
  const staying = caller();
  const left = load("a", leaving.scope);
  const stays = load("a", staying.scope);
  await turn();
  const reason = new Error("call cancelled");
  leaving.stop(reason);
  await expect(left).rejects.toBe(reason);
  expect(queries[0]!.scope.signal.aborted).toBe(false);
  queries[0]!.answer();
  expect(await stays).toBe("row a");
});

test("the query is cancelled when its last caller has stopped", async () => {
  const { load, queries } = loader();
  const callers = [caller(), caller()];
  const loads = [load("a", callers[0]!.scope), load("b", callers[1]!.scope)];
  await turn();
  callers[0]!.stop();
  expect(queries[0]!.scope.signal.aborted).toBe(false);
  callers[1]!.stop();
  expect(queries[0]!.scope.signal.aborted).toBe(true);
  await expect(Promise.all(loads)).rejects.toThrow("deadline exceeded");
});

test("callers that stop before their turn's query starts send none; a larger turn is split", async () => {
  const { load, queries } = loader();
  const gone = caller();
  const left = load("x", gone.scope);
  gone.stop();
  await expect(left).rejects.toThrow("deadline exceeded");
  const many = ["a", "b", "c", "d"].map((key) => load(key, caller().scope));
  await turn();
  expect(queries.map((query) => query.keys)).toEqual([["a", "b", "c"], ["d"]]);
  for (const query of queries) query.answer();
  expect(await Promise.all(many)).toEqual(["row a", "row b", "row c", "row d"]);
});

/** A loader that answers at once: rows for every key but those starting "missing"; a query fails when `fail` says so. */
function answering(options: { maxBatchSize?: number; fail?: (keys: readonly string[]) => boolean } = {}) {
  const queries: string[][] = [];
  const load = createBatchLoader<string, string>(async (keys) => {
    queries.push([...keys]);
    if (options.fail?.(keys) === true) throw new Error("query failed");
    return new Map(keys.filter((key) => !key.startsWith("missing")).map((key) => [key, key.toUpperCase()]));
  }, options);
  return { load, queries };
}

describe("queries answered at once", () => {
  const ANY = caller().scope;
  test("calls in the next turn go in the next query", async () => {
    const { load, queries } = answering();
    const first = load("a", ANY);
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([first, load("b", ANY)]);
    expect(queries).toEqual([["a"], ["b"]]);
  });

  test("a failed query fails the calls that shared it, and only those", async () => {
    const { load } = answering({ maxBatchSize: 2, fail: (keys) => keys.includes("bad") });
    const results = await Promise.allSettled([load("bad", ANY), load("x", ANY), load("y", ANY)]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "rejected", "fulfilled"]);
  });
});
