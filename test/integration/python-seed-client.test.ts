// The seed's Python client (test/python/seed_client.py), with stubs that
// protoc generates from proto/ now, still works against the server: reads,
// a stream, NOT_FOUND as None, and a refused request read by code and
// details alone, with error details in the trailer beside them.
// It needs Debian's python3-grpcio, python3-protobuf, protobuf-compiler and
// protobuf-compiler-grpc, which .ci/run installs; without them the block is
// reported as skipped.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { TEST_BACKENDS } from "../support/database";
import { BUF, PROJECT_ROOT, runCommand } from "../support/commands";
import { serveForSuite, testToken } from "../support/server";

const PYTHON = "/usr/bin/python3";

function pythonToolsPresent(): boolean {
  try {
    execFileSync(PYTHON, ["-c", "import grpc, google.protobuf"], { stdio: "ignore" });
    execFileSync("sh", ["-c", "command -v protoc && command -v grpc_python_plugin"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const describeWithPython = pythonToolsPresent() ? describe : describe.skip;

describeWithPython("the seed's Python client", () => {
  const suite = serveForSuite(TEST_BACKENDS[0]!);
  let generated: string;

  beforeAll(async () => {
    generated = mkdtempSync(path.join(os.tmpdir(), "seed-python-"));
    // buf's image carries the well-known types protoc would otherwise need installed.
    const image = path.join(generated, "image.binpb");
    expect((await runCommand(BUF, ["build", "-o", image], PROJECT_ROOT)).code).toBe(0);
    const protoc = await runCommand(
      "protoc",
      [
        `--descriptor_set_in=${image}`,
        `--python_out=${generated}`,
        `--grpc_out=${generated}`,
        "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
        "product/v1/product.proto",
      ],
      PROJECT_ROOT,
    );
    expect(protoc).toEqual({ code: 0, output: "" });
  });
  afterAll(() => rmSync(generated, { recursive: true, force: true }));

  test("creates, reads, lists, maps NOT_FOUND to None and reads INVALID_ARGUMENT by code and details", async () => {
    const result = await runCommand(
      PYTHON,
      [path.join(PROJECT_ROOT, "test/python/seed_client.py"), generated, suite.server.address, await testToken()],
      PROJECT_ROOT,
    );
    expect(result.code).toBe(0);
    const output = JSON.parse(result.output) as Record<string, unknown>;
    expect(output).toEqual({
      created: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: "seed pen", price: 1.5, in_stock: true },
      found: "seed pen",
      missing: true,
      listed: ["seed pen"],
      invalid: { code: "INVALID_ARGUMENT", details: "name: must not be empty" },
    });
  });
});
