// productctl end to end: every command, run as a process against a real server.
import { writeFileSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { PROJECT_ROOT, runCommand } from "../support/commands";
import { TEST_BACKENDS, type TestDatabase } from "../support/database";
import { startTestServer, testToken, type TestServer } from "../support/server";
import { until } from "../support/wait";

const RUN_TS = path.join(PROJECT_ROOT, "test/support/processes/run-ts.cjs");
const PRODUCTCTL = path.join(PROJECT_ROOT, "src/cli/productctl.ts");

let database: TestDatabase;
let server: TestServer;
let token: string;
beforeAll(async () => {
  database = await TEST_BACKENDS[0]!.open();
  server = await startTestServer(database);
  token = await testToken();
});
afterAll(async () => {
  await server.close();
  await database.close();
});

const productctl = (...args: string[]) =>
  runCommand(
    process.execPath,
    [RUN_TS, PRODUCTCTL, "--address", server.address, "--token", token, ...args],
    PROJECT_ROOT,
  );
const lines = (output: string) =>
  output
    .trim()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

test("create, get, update-price, list, delete", async () => {
  const created = await productctl(
    "create",
    "--name",
    "Teapot",
    "--price",
    "19.5",
    "--category",
    "cli",
    "--tag",
    "ceramic",
    "--tag",
    "blue",
  );
  expect(created.code).toBe(0);
  const [product] = lines(created.output);
  expect(product).toMatchObject({ name: "Teapot", price: 19.5, category: "cli", tags: ["ceramic", "blue"] });
  const id = product!.id as string;

  expect(lines((await productctl("get", id)).output)[0]).toMatchObject({ id, name: "Teapot" });
  expect(lines((await productctl("update-price", id, "21")).output)[0]).toMatchObject({ id, price: 21 });
  await productctl("create", "--name", "Cup", "--price", "4", "--category", "cli");
  const page = await productctl("list", "--category", "cli", "--page-size", "1");
  expect(lines(page.output)).toHaveLength(1);
  expect(page.output).toContain("next page: --page-token v1.");
  expect(lines((await productctl("list", "--category", "cli")).output)).toHaveLength(2);
  expect(lines((await productctl("delete", id)).output)[0]).toEqual({ deleted: id });
  const gone = await productctl("get", id);
  expect(gone.code).toBe(1);
  expect(gone.output).toContain(`NOT_FOUND: product ${id} not found`);
});

test("batch-create reads JSON lines; a bad line is INVALID_ARGUMENT naming it", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "productctl-"));
  const good = path.join(dir, "good.jsonl");
  writeFileSync(good, '{"name":"A","price":1,"category_id":"batch-cli"}\n{"name":"B","price":2,"tags":["x"]}\n');
  expect(lines((await productctl("batch-create", good)).output)[0]).toEqual({ createdCount: 2 });
  const bad = path.join(dir, "bad.jsonl");
  writeFileSync(bad, '{"name":"A","price":1}\n{"name":"","price":2}\n');
  const result = await productctl("batch-create", bad);
  expect(result.code).toBe(1);
  expect(result.output).toContain("INVALID_ARGUMENT: items[1].name: must not be empty");
});

test("watch prints the current price, then changes, until interrupted", async () => {
  const [product] = lines((await productctl("create", "--name", "Watched", "--price", "1")).output);
  const child = spawn(
    process.execPath,
    [RUN_TS, PRODUCTCTL, "--address", server.address, "--token", token, "watch", product!.id as string],
    { cwd: PROJECT_ROOT },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const waitForLines = (count: number) => until(() => lines(output).length >= count);
  await waitForLines(1);
  await server.client.updatePrice({ id: product!.id as string, price: 2.5 });
  await waitForLines(2);
  child.kill("SIGINT");
  const [code] = (await once(child, "exit")) as [number | null];
  expect(code).toBe(0);
  expect(lines(output).map((update) => update.newPrice)).toEqual([1, 2.5]);
});

test("without a token the server's refusal is printed", async () => {
  const result = await runCommand(
    process.execPath,
    [RUN_TS, PRODUCTCTL, "--address", server.address, "get", "00000000-0000-4000-8000-000000000000"],
    PROJECT_ROOT,
  );
  expect(result.code).toBe(1);
  expect(result.output).toContain("UNAUTHENTICATED: a valid bearer token is required");
});

test("a write run again with its --request-id is applied once", async () => {
  const key = "9b2f6a52-3c1e-4d7a-8f0e-2a6b5c4d3e21";
  const create = () =>
    productctl("create", "--name", "Kettle", "--price", "30", "--category", "cli-key", "--request-id", key);
  const [first] = lines((await create()).output);
  const [again] = lines((await create()).output);
  expect(again).toEqual(first);
  expect(lines((await productctl("list", "--category", "cli-key")).output)).toHaveLength(1);
  const reused = await productctl("create", "--name", "Other", "--price", "1", "--request-id", key);
  expect(reused.code).toBe(1);
  expect(reused.output).toContain("INVALID_ARGUMENT: request_id: was used for a different request");
});

test("a write whose outcome is unknown says how to retry it safely", async () => {
  const result = await runCommand(
    process.execPath,
    [
      RUN_TS,
      PRODUCTCTL,
      "--address",
      "127.0.0.1:1",
      "--token",
      token,
      "--deadline-ms",
      "300",
      "create",
      "--name",
      "X",
      "--price",
      "1",
      "--request-id",
      "0b6c1f7e-8d2a-4c3b-9e5f-1a2b3c4d5e6f",
    ],
    PROJECT_ROOT,
  );
  expect(result.code).toBe(1);
  expect(result.output).toContain(
    "retry it with --request-id 0b6c1f7e-8d2a-4c3b-9e5f-1a2b3c4d5e6f to apply it at most once",
  );
});
