// A PgBouncer of the test's own, in transaction mode, in front of the test
// PostgreSQL server: Debian's pgbouncer binary (CI installs it), run as the
// `postgres` user (it refuses to run as root) with a configuration file in a
// temporary folder, on a free port. Like PgBouncer 1.18 everywhere, it
// refuses startup parameters it does not know, keeps no prepared statements
// across transactions, and a LISTEN through it hears nothing.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { until } from "./wait";

const BINARY = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].find((file) => existsSync(file));

/** Why PgBouncer tests cannot run here, or undefined when they can. */
export const PGBOUNCER_MISSING: string | undefined =
  BINARY === undefined ? "the pgbouncer binary is not installed (apt-get install pgbouncer)" : undefined;

export interface PgBouncer {
  /** `serverUrl` with its host and port replaced by the pooler's. */
  readonly url: string;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Starts PgBouncer in transaction mode in front of the server of `serverUrl` (trust authentication). */
export async function startPgBouncer(serverUrl: string): Promise<PgBouncer> {
  if (BINARY === undefined) throw new Error(PGBOUNCER_MISSING);
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username || "postgres");
  const dir = await mkdtemp(path.join(os.tmpdir(), "pgbouncer-"));
  const port = await freePort();
  const account = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const uid = Number(account.stdout.trim());
  const gid = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim());
  await writeFile(path.join(dir, "users.txt"), `"${user}" ""\n`);
  await writeFile(
    path.join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      `* = host=${server.hostname} port=${server.port || 5432}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      `unix_socket_dir = ${dir}`,
      "auth_type = trust",
      `auth_file = ${path.join(dir, "users.txt")}`,
      "pool_mode = transaction",
      "max_client_conn = 1000",
      "default_pool_size = 40",
      `logfile = ${path.join(dir, "pgbouncer.log")}`,
      "",
    ].join("\n"),
  );
  if (process.getuid?.() === 0) {
    await chown(dir, uid, gid);
    await chmod(dir, 0o755);
  }
  // PgBouncer refuses to run as root: as root, the test runs it as postgres.
  const child: ChildProcess = spawn(BINARY, [path.join(dir, "pgbouncer.ini")], {
    stdio: "ignore",
    ...(process.getuid?.() === 0 ? { uid, gid } : {}),
  });
  const url = new URL(serverUrl);
  url.host = `127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await until(async () => {
      if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}`);
      const probe = postgres(url.toString(), { max: 1, connect_timeout: 1, onnotice: () => undefined });
      try {
        await probe`SELECT 1`;
        return true;
      } catch {
        return false;
      } finally {
        await probe.end({ timeout: 0 });
      }
    }, 10_000);
  } catch (error) {
    child.kill("SIGTERM");
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: url.toString(),
    async close() {
      // SIGTERM: PgBouncer's immediate shutdown (SIGINT would wait for its clients).
      child.kill("SIGTERM");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
