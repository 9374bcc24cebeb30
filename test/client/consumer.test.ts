// The client package entry, from a consumer's point of view: the package is
// built, linked into a project of its own as node_modules/product-service,
// and a file that uses it as another service would must type-check (and the
// mistakes in it must not).
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync, copyFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PROJECT_ROOT, runCommand } from "../support/commands";

const TSC = path.join(PROJECT_ROOT, "node_modules/.bin/tsc");

test("a consumer compiles against product-service/client", async () => {
  const build = await runCommand(TSC, ["-p", "tsconfig.build.json"], PROJECT_ROOT);
  expect(build).toEqual({ code: 0, output: "" });

  const consumer = mkdtempSync(path.join(os.tmpdir(), "consumer-"));
  mkdirSync(path.join(consumer, "node_modules"));
  symlinkSync(PROJECT_ROOT, path.join(consumer, "node_modules/product-service"));
  copyFileSync(path.join(__dirname, "consumer/consumer.ts"), path.join(consumer, "consumer.ts"));
  writeFileSync(
    path.join(consumer, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: "node16", moduleResolution: "node16", target: "ES2022", types: [], skipLibCheck: true },
      files: ["consumer.ts"],
    }),
  );
  const result = await runCommand(TSC, ["-p", consumer], consumer);
  expect(result.output).toBe("");
  expect(result.code).toBe(0);
}, 120_000);
