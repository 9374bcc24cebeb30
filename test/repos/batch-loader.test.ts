// Point reads asked for in one event-loop turn share one query; each caller
// gets its own row (or none), and a failed query fails only those who shared it.
import { createBatchLoader } from "../../src/repos/batch-loader";

function loader(options: { maxBatchSize?: number; fail?: (keys: readonly string[]) => boolean } = {}) {
  const queries: string[][] = [];
  const load = createBatchLoader<string, string>(async (keys) => {
    queries.push([...keys]);
    if (options.fail?.(keys) === true) throw new Error("query failed");
    return new Map(keys.filter((key) => !key.startsWith("missing")).map((key) => [key, key.toUpperCase()]));
  }, options);
  return { load, queries };
}

describe("createBatchLoader", () => {
  test("one query per turn, each key once, each caller its own answer", async () => {
    const { load, queries } = loader();
    const answers = await Promise.all([load("a"), load("b"), load("a"), load("missing-1")]);
    expect(answers).toEqual(["A", "B", "A", undefined]);
    expect(queries).toEqual([["a", "b", "missing-1"]]);
  });

  test("calls in the next turn go in the next query", async () => {
    const { load, queries } = loader();
    const first = load("a");
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([first, load("b")]);
    expect(queries).toEqual([["a"], ["b"]]);
  });

  test("a turn larger than the batch size is split", async () => {
    const { load, queries } = loader({ maxBatchSize: 2 });
    await Promise.all(["a", "b", "c", "d", "e"].map(load));
    expect(queries).toEqual([["a", "b"], ["c", "d"], ["e"]]);
  });

  test("a failed query fails the calls that shared it, and only those", async () => {
    const { load } = loader({ maxBatchSize: 2, fail: (keys) => keys.includes("bad") });
    const results = await Promise.allSettled([load("bad"), load("x"), load("y")]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "rejected", "fulfilled"]);
  });
});
