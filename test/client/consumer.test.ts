// The package from a consumer's point of view: `npm pack` as a release
// would, installed into a project of its own, and then:
// - a file that uses the client as another service would type-checks (and
//   its mistakes do not) under node16, bundler and node10 module resolution;
// - plain CommonJS calls a real server through it, loading only what a
//   client needs;
// - `npx productctl --help` runs the installed command.
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { TEST_BACKENDS } from "../support/database";
import { PROJECT_ROOT, runCommand } from "../support/commands";
import { serveForSuite, testToken } from "../support/server";

const TSC = path.join(PROJECT_ROOT, "node_modules/.bin/tsc");
/** The server's own stack: none of it may load with the client. */
const SERVER_ONLY = [
  "@electric-sql/pglite",
  "drizzle-orm",
  "postgres",
  "pino",
  "prom-client",
  "jose",
  "nice-grpc-server-health",
  "nice-grpc-server-reflection",
];

describe("the packed package", () => {
  const suite = serveForSuite(TEST_BACKENDS[0]!);
  let consumer: string;

  beforeAll(async () => {
    consumer = mkdtempSync(path.join(os.tmpdir(), "consumer-"));
    const pack = await runCommand("npm", ["pack", "--pack-destination", consumer], PROJECT_ROOT);
    expect(pack.code).toBe(0);
    const tarball = readdirSync(consumer).find((file) => file.endsWith(".tgz")) as string;
    writeFileSync(path.join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true }));
    const install = await runCommand(
      "npm",
      ["install", `./${tarball}`, "--no-audit", "--no-fund", "--prefer-offline"],
      consumer,
    );
    expect(install.code).toBe(0);
    copyFileSync(path.join(__dirname, "consumer/consumer.ts"), path.join(consumer, "consumer.ts"));
    copyFileSync(path.join(__dirname, "consumer/run.js"), path.join(consumer, "run.js"));
  }, 180_000);
  afterAll(() => rmSync(consumer, { recursive: true, force: true }));

  test("ships what a consumer needs and nothing of the repository's own", async () => {
    const listing = await runCommand(
      "tar",
      ["-tzf", readdirSync(consumer).find((file) => file.endsWith(".tgz")) as string],
      consumer,
    );
    const files = listing.output.trim().split("\n");
    expect(files).toEqual(
      expect.arrayContaining([
        "package/dist/src/client/index.js",
        "package/dist/src/client/index.d.ts",
        "package/dist/src/cli/productctl.js",
        "package/dist/src/main.js",
        "package/drizzle/0000_products.sql",
        "package/proto/product/v1/product.proto",
      ]),
    );
    expect(
      files.filter(
        (file) =>
          /^package\/(test|\.ci|src|gen|node_modules)\//.test(file) ||
          (file.endsWith(".ts") && !file.endsWith(".d.ts")),
      ),
    ).toEqual([]);
  });

  test.each(["node16", "bundler", "node10"])(
    "a consumer type-checks against product-service/client with moduleResolution %s",
    async (resolution) => {
      const module = resolution === "node16" ? "node16" : resolution === "bundler" ? "esnext" : "commonjs";
      const config = path.join(consumer, `tsconfig.${resolution}.json`);
      writeFileSync(
        config,
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            module,
            moduleResolution: resolution,
            target: "ES2022",
            types: [],
            skipLibCheck: true,
            ignoreDeprecations: "5.0",
          },
          files: ["consumer.ts"],
        }),
      );
      const result = await runCommand(TSC, ["-p", config], consumer);
      expect(result.output).toBe("");
      expect(result.code).toBe(0);
    },
    60_000,
  );

  test("plain CommonJS calls the server through the installed client, loading only the client's packages", async () => {
    const result = await runCommand(process.execPath, ["run.js", suite.server.address, await testToken()], consumer);
    expect(result.code).toBe(0);
    const output = JSON.parse(result.output) as { found: string; missing: null; invalid: unknown; packages: string[] };
    expect(output.found).toBe("Packed mug");
    expect(output.missing).toBeNull();
    expect(output.invalid).toEqual({ code: "INVALID_ARGUMENT", reason: "INVALID_FIELD", fields: ["name"] });
    expect(output.packages).toContain("@grpc/grpc-js");
    expect(output.packages.filter((name) => SERVER_ONLY.includes(name))).toEqual([]);
  });

  test("npx productctl --help runs the installed command", async () => {
    const result = await runCommand("npx", ["--no-install", "productctl", "--help"], consumer);
    expect(result.code).toBe(0);
    expect(result.output).toContain("usage: productctl [options] <command>");
  });
});
