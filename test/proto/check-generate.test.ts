// `make check-generate` is what keeps gen/ honest: it must pass on the
// committed tree and fail once a generated file is edited by hand. It runs on
// a temporary copy of the project, sharing node_modules.
import { appendFile, cp, mkdtemp, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PROJECT_ROOT, runCommand } from "../support/commands";

const COPIED = ["Makefile", "buf.yaml", "buf.gen.yaml", "package.json", "package-lock.json", "proto", "gen", "scripts"];

let copy: string;

function checkGenerate() {
  // -o: the shared node_modules is up to date; never let make reinstall into it.
  return runCommand("make", ["--no-print-directory", "-o", "node_modules/.package-lock.json", "check-generate"], copy);
}

beforeEach(async () => {
  copy = await mkdtemp(path.join(os.tmpdir(), "check-generate-"));
  for (const entry of COPIED) await cp(path.join(PROJECT_ROOT, entry), path.join(copy, entry), { recursive: true });
  await symlink(path.join(PROJECT_ROOT, "node_modules"), path.join(copy, "node_modules"));
});

afterEach(async () => {
  await rm(copy, { recursive: true, force: true });
});

test("passes when gen/ is what proto/ generates", async () => {
  const result = await checkGenerate();
  expect(result.output).not.toContain("out of date");
  expect(result.code).toBe(0);
});

test("fails when a generated file was edited by hand, naming the file", async () => {
  await appendFile(path.join(copy, "gen/product/v1/product.ts"), "\nexport const handEdit = true;\n");
  const result = await checkGenerate();
  expect(result.code).not.toBe(0);
  expect(result.output).toContain("gen/product/v1/product.ts");
  expect(result.output).toContain("gen/ is out of date with proto/");
});

test("fails when a file was added to gen/ by hand", async () => {
  await appendFile(path.join(copy, "gen/product/v1/extra.ts"), "export {};\n");
  const result = await checkGenerate();
  expect(result.code).not.toBe(0);
  expect(result.output).toContain("Only in gen/product/v1: extra.ts");
});
