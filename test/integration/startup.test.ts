// Starting the server as `make run` does: one server per embedded database,
// and start-up failures said in one line an operator can act on.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createChannel, createClient } from "nice-grpc";
import { HealthDefinition } from "nice-grpc-server-health";
import { ServingStatus } from "../support/health";
import { makeCertificates } from "../support/certificates";
import { PROJECT_ROOT } from "../support/commands";
import { startServerProcess } from "../support/processes/server-process";

/** Runs the server entry to its exit; resolves to the exit code and stderr. */
async function runToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(
    process.execPath,
    [path.join(PROJECT_ROOT, "test/support/processes/run-ts.cjs"), path.join(PROJECT_ROOT, "src/main.ts")],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, HOST: "127.0.0.1", LOG_LEVEL: "silent", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stderr };
}

describe("start-up on the embedded database", () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "product-startup-"));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  test("a second server on the same DATA_DIR refuses to start, in one line naming the directory and the other process", async () => {
    const first = await startServerProcess({ DATA_DIR: dataDir });
    try {
      for (const port of ["0", String(first.port)]) {
        const second = await runToExit({ DATA_DIR: dataDir, PORT: port });
        expect(second.code).toBe(1);
        expect(second.stderr).toBe(
          `failed to start: DATA_DIR ${dataDir} is in use by another server (pid ${first.child.pid}); stop it, or give this one another DATA_DIR\n`,
        );
      }
    } finally {
      first.child.kill("SIGTERM");
      await first.exited;
    }
    // Once the first has stopped, the directory is free again.
    const third = await startServerProcess({ DATA_DIR: dataDir });
    third.child.kill("SIGTERM");
    expect(await third.exited).toBe(0);
  });

  test("a lock left by a process that is gone is taken over", async () => {
    await writeFile(path.join(dataDir, "server.lock"), "2147483646\n");
    const server = await startServerProcess({ DATA_DIR: dataDir });
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });

  test("a port in use is one line, no stack, and leaves the directory unlocked", async () => {
    const otherDir = await mkdtemp(path.join(tmpdir(), "product-startup-other-"));
    const other = await startServerProcess({ DATA_DIR: otherDir });
    try {
      const refused = await runToExit({ DATA_DIR: dataDir, PORT: String(other.port) });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(`failed to start: cannot listen on 127.0.0.1:${other.port}: the address is in use\n`);
    } finally {
      other.child.kill("SIGTERM");
      await other.exited;
      await rm(otherDir, { recursive: true, force: true });
    }
    const server = await startServerProcess({ DATA_DIR: dataDir });
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });

  test("a DATA_DIR that cannot be made is one line, no stack", async () => {
    const file = path.join(dataDir, "a-file");
    await writeFile(file, "");
    const refused = await runToExit({ DATA_DIR: path.join(file, "data") });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^failed to start: ENOTDIR: not a directory, mkdir '.*'\n$/);
  });
});

describe("a health-only port for probes that cannot speak TLS", () => {
  test("HEALTH_PORT answers health in plaintext while the main port serves TLS only", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "product-health-port-"));
    const certificates = makeCertificates();
    const server = await startServerProcess({
      DATA_DIR: dataDir,
      TLS_CERT_FILE: certificates.file("server.crt"),
      TLS_KEY_FILE: certificates.file("server.key"),
      HEALTH_PORT: "0",
    });
    try {
      const healthPort = server.logs.find((line) => line.msg === "plaintext health-only server listening")
        ?.port as number;
      const probe = createChannel(`127.0.0.1:${healthPort}`);
      const plaintextToMain = createChannel(`127.0.0.1:${server.port}`);
      try {
        for (const service of ["", "product.v1.ProductService"]) {
          expect((await createClient(HealthDefinition, probe).check({ service })).status).toBe(ServingStatus.SERVING);
        }
        await expect(
          createClient(HealthDefinition, plaintextToMain).check(
            { service: "" },
            { signal: AbortSignal.timeout(2_000) },
          ),
        ).rejects.toThrow();
      } finally {
        probe.close();
        plaintextToMain.close();
      }
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
      await rm(dataDir, { recursive: true, force: true });
      await rm(certificates.dir, { recursive: true, force: true });
    }
  });
});
