// make bench: the product server (as the deployment runs it: full middleware
// chain, auth on, logs written, its heap cap) against a raw grpc-js baseline, in the same
// run, in alternating rounds; medians and ratios to the baseline.
// BENCH_SMOKE=1 runs the same code on tiny sizes in seconds (CI).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import postgres from "postgres";
import { signToken } from "../../src/auth/development-secret";
import { openDatabase } from "../../src/db/client";
import { migrateDatabase } from "../../src/db/migrate";
import { createPostgresDatabase } from "../support/database";
import { deploymentRuntime } from "../support/deployment";
import { seed, seededId } from "./seed";

const ROOT = path.resolve(__dirname, "../..");
const RUN_TS = path.join(ROOT, "test/support/processes/run-ts.cjs");
const SMOKE = process.env.BENCH_SMOKE === "1";
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const SECRET = "bench-secret-that-is-at-least-32-bytes-long";
/** BENCH_SCENARIOS=get,list runs only those (get, connect, list, create, batch, watch, stall, soak). */
const ONLY = process.env.BENCH_SCENARIOS?.split(",");
const wanted = (name: string) => ONLY === undefined || ONLY.includes(name);
/** BENCH_PROFILE_DIR=dir: every server writes a V8 CPU profile there (node --cpu-prof) when it stops, named after it. */
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const AUTH = { issuer: "product-service", audience: "product-service" };
const DEPLOYMENT = deploymentRuntime(ROOT);

const SIZES = SMOKE
  ? {
      seeded: 2_000,
      list: 500,
      rounds: 1,
      getMs: 500,
      listMs: 500,
      createMs: 500,
      batchStreams: 2,
      batchItems: 200,
      watchers: 20,
      watchConnections: 2,
      updates: 10,
      huge: 5_000,
      stallMs: 500,
      soakMs: 3_000,
      soakWarmupMs: 1_000,
    }
  : {
      seeded: 100_000,
      list: 10_000,
      rounds: 3,
      getMs: 10_000,
      listMs: 8_000,
      createMs: 8_000,
      batchStreams: 10,
      batchItems: 10_000,
      watchers: 1_000,
      watchConnections: 10,
      updates: 100,
      huge: 1_000_000,
      stallMs: 10_000,
      soakMs: 60_000,
      soakWarmupMs: 10_000,
    };

interface Running {
  readonly name: string;
  readonly child: ChildProcess;
  readonly address: string;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
}

function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
}

function lines(child: ChildProcess, onLine: (line: string) => void): void {
  readline.createInterface({ input: child.stdout! }).on("line", onLine);
}

async function startProductServer(databaseUrl: string, logFile: string): Promise<Running> {
  // Logs go to a file, as in production, not through a pipe this process must keep draining.
  const log = openSync(logFile, "w");
  const flags = [...DEPLOYMENT.nodeFlags, ...profileFlags("product")];
  const child = spawn(process.execPath, [...flags, path.join(ROOT, "dist/src/main.js")], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: "0",
      HOST: "127.0.0.1",
      JWT_SECRET: SECRET,
      LOG_LEVEL: "info",
      DATABASE_POOL_MAX: "10",
    },
    stdio: ["ignore", log, "inherit"],
  });
  for (;;) {
    const listening = readFileSync(logFile, "utf8")
      .split("\n")
      .find((line) => line.includes('"msg":"listening"'));
    if (listening !== undefined)
      return { name: "product", child, address: `127.0.0.1:${(JSON.parse(listening) as { port: number }).port}` };
    if (child.exitCode !== null) throw new Error("the product server exited before listening");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function startBaseline(databaseUrl: string, coalesce = false): Promise<Running> {
  const name = coalesce ? "coalesced" : "baseline";
  const child = spawn(process.execPath, [...profileFlags(name), RUN_TS, path.join(__dirname, "baseline-server.ts")], {
    env: { ...process.env, DATABASE_URL: databaseUrl, BASELINE_COALESCE: coalesce ? "1" : "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve) =>
    lines(child, (line) => resolve((JSON.parse(line) as { port: number }).port)),
  );
  return { name, child, address: `127.0.0.1:${port}` };
}

let profilesStarted = 0;

/** Node's flags for a server to write its CPU profile as `name`-<n>.cpuprofile, when profiling. */
function profileFlags(name: string): string[] {
  if (PROFILE_DIR === undefined) return [];
  profilesStarted += 1;
  return ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${name}-${profilesStarted}.cpuprofile`];
}

type Result = {
  [figure: string]: number | Record<string, number>;
  codes: Record<string, number>;
  serverCpuSeconds: number;
  loadCpuSeconds: number;
};

async function load(server: Running, scenario: Record<string, unknown>): Promise<Result> {
  const before = cpuSeconds(server.child.pid!);
  const child = spawn(
    process.execPath,
    [RUN_TS, path.join(__dirname, "load.ts"), JSON.stringify({ address: server.address, ...scenario })],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await new Promise((resolve) => child.on("exit", resolve));
  const result = JSON.parse(output) as Result;
  result.serverCpuSeconds = cpuSeconds(server.child.pid!) - before;
  return result;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : (sorted[Math.floor((sorted.length - 1) / 2)] as number);
};
const failed = (results: Result[]) => results.some((r) => Object.keys(r.codes).some((code) => code !== "OK"));
const fmt = (value: number, digits = 0) =>
  Number.isFinite(value)
    ? value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "—";

async function main(): Promise<void> {
  if (process.env.BENCH_SKIP_BUILD !== "1") {
    const build = spawn(path.join(ROOT, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], {
      cwd: ROOT,
      stdio: "inherit",
    });
    await new Promise((resolve) => build.on("exit", resolve));
  }

  const database = await createPostgresDatabase(ADMIN_URL);
  const sql = postgres(database.url, { max: 2, onnotice: () => undefined });
  const servers: Running[] = [];
  try {
    const handle = await openDatabase({ url: database.url, dataDir: "unused" });
    await migrateDatabase(handle);
    await handle.close();
    process.stderr.write(`seeding ${SIZES.seeded} products (+${SIZES.huge} for the memory scenario)\n`);
    const others = SIZES.seeded - SIZES.list;
    const next = await seed(sql, {
      categories: {
        "bench-list": SIZES.list,
        ...Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`c${i}`, Math.floor(others / 9)])),
      },
    });
    await seed(sql, { categories: { huge: SIZES.huge } }, next);
    await sql`ANALYZE products`;

    const logDir = mkdtempSync(path.join(os.tmpdir(), "bench-logs-"));
    const product = await startProductServer(database.url, path.join(logDir, "product-server.log"));
    const baseline = await startBaseline(database.url);
    const coalesced = await startBaseline(database.url, true);
    servers.push(product, baseline, coalesced);
    // The product server's RSS over the whole run, against the container's limit.
    let peakRss = 0;
    const peakSampler = setInterval(() => {
      if (product.child.exitCode === null) peakRss = Math.max(peakRss, rssBytes(product.child.pid!));
    }, 100).unref();
    const token = await signToken(SECRET, AUTH, ["products:read", "products:write"], { expiresIn: "2h" });

    const scenarios = {
      get: {
        kind: "get",
        connections: 4,
        concurrency: 64,
        durationMs: SIZES.getMs,
        idCount: SIZES.seeded,
        idPrefix: seededId(0).slice(0, 24),
      },
      // The same reads over the Connect protocol with JSON: the product server only (the baselines speak gRPC).
      connect: {
        kind: "connect-get",
        connections: 4,
        concurrency: 64,
        durationMs: SIZES.getMs,
        idCount: SIZES.seeded,
        idPrefix: seededId(0).slice(0, 24),
      },
      list: { kind: "list", streams: 4, durationMs: SIZES.listMs, category: "bench-list" },
      create: { kind: "create", connections: 4, concurrency: 64, durationMs: SIZES.createMs },
    } as const;
    const results: Record<string, Record<string, Result[]>> = {
      get: { product: [], baseline: [], coalesced: [] },
      connect: { product: [] },
      list: { product: [], baseline: [] },
      create: { product: [], baseline: [] },
    };
    for (let round = 0; round < SIZES.rounds; round += 1) {
      for (const [name, scenario] of Object.entries(scenarios).filter(([name]) => wanted(name))) {
        // Alternate who goes first, so neither always runs on a warmer machine; GetProduct
        // also runs against the coalescing baseline, the figure it is held to.
        const others = name === "get" ? [baseline, coalesced] : name === "connect" ? [] : [baseline];
        for (const server of round % 2 === 0 ? [...others, product] : [product, ...others]) {
          const result = await load(server, { ...scenario, token: server === product ? token : undefined });
          results[name]![server.name]!.push(result);
          process.stderr.write(`round ${round + 1} ${name} ${server.name}: ${JSON.stringify(result)}\n`);
        }
      }
    }

    const batch: Result[] = [];
    const copy: number[] = [];
    for (let round = 0; round < (wanted("batch") ? SIZES.rounds : 0); round += 1) {
      batch.push(await load(product, { kind: "batch", streams: SIZES.batchStreams, items: SIZES.batchItems, token }));
      const rows = SIZES.batchStreams * SIZES.batchItems;
      const started = process.hrtime.bigint();
      const writable = await sql`COPY products (name, price, category, tags) FROM STDIN`.writable();
      for (let i = 0; i < rows; i += 1) {
        if (!writable.write(`batch ${i}\t${i % 100}\tbench-copy\t{bench}\n`))
          await new Promise((resolve) => writable.once("drain", resolve));
      }
      await new Promise<void>((resolve, reject) =>
        writable.end((error?: Error | null) => (error ? reject(error) : resolve())),
      );
      copy.push(rows / (Number(process.hrtime.bigint() - started) / 1e9));
      process.stderr.write(
        `round ${round + 1} batch: ${JSON.stringify(batch[round])} copy: ${fmt(copy[round]!)} products/s\n`,
      );
    }

    const watchIds = Array.from({ length: 100 }, (_, i) => seededId(SIZES.list + i));
    const skipped = { codes: {}, serverCpuSeconds: Number.NaN, loadCpuSeconds: Number.NaN } as Result;
    const watch = !wanted("watch")
      ? skipped
      : await load(product, {
          kind: "watch",
          watchers: SIZES.watchers,
          connections: SIZES.watchConnections,
          productIds: watchIds,
          perWatcher: 10,
          updates: SIZES.updates,
          intervalMs: 20,
          token,
        });
    process.stderr.write(`watch: ${JSON.stringify(watch)}\n`);
    const stall = !wanted("stall")
      ? skipped
      : await load(product, {
          kind: "stall",
          category: "huge",
          stallMs: SIZES.stallMs,
          serverPid: product.child.pid,
          token,
        });
    process.stderr.write(`stall: ${JSON.stringify(stall)}\n`);

    // RSS under a minute of GetProduct load, sampled every second: flat once warm.
    const soak = { growthMiB: Number.NaN, failed: false };
    if (wanted("soak")) {
      const samples: { atMs: number; rss: number }[] = [];
      const started = Date.now();
      const sampler = setInterval(
        () => samples.push({ atMs: Date.now() - started, rss: rssBytes(product.child.pid!) }),
        1_000,
      );
      const result = await load(product, { ...scenarios.get, durationMs: SIZES.soakMs, token });
      clearInterval(sampler);
      // RSS saws up and down with each garbage collection: compare the medians of the first
      // and the last tenth-of-a-minute windows after warm-up, not one peak with one trough.
      const warm = samples.filter((sample) => sample.atMs >= SIZES.soakWarmupMs).map((sample) => sample.rss);
      const window = Math.max(1, Math.floor(warm.length / 5));
      soak.growthMiB =
        warm.length === 0 ? Number.NaN : (median(warm.slice(-window)) - median(warm.slice(0, window))) / 2 ** 20;
      soak.failed = failed([result]);
      process.stderr.write(
        `soak: ${JSON.stringify({ ...result, samples: samples.map((s) => Math.round(s.rss / 2 ** 20)) })}\n`,
      );
    }

    clearInterval(peakSampler);

    const row = (
      figure: string,
      base: number | undefined,
      ours: number,
      unit: string,
      target: string,
      met: boolean,
      isFailed: boolean,
      digits = 0,
    ) => {
      const ratio = base === undefined ? "" : `${fmt(ours / base, 2)}×`;
      // A scenario left out by BENCH_SCENARIOS has no figure: it was not run, not missed.
      const verdict = isFailed ? "FAILED (errors)" : !Number.isFinite(ours) ? "not run" : met ? "met" : "NOT met";
      return `| ${figure} | ${base === undefined ? "" : fmt(base, digits)} | ${fmt(ours, digits)} ${unit} | ${ratio} | ${target} | ${verdict} |`;
    };
    const m = (name: string, server: string, key: string) =>
      median((results[name]![server] ?? []).map((r) => r[key] as number));
    const getRatio = m("get", "product", "perSecond") / m("get", "coalesced", "perSecond");
    const table = [
      "| figure | baseline | product server | ratio | target | |",
      "| --- | --- | --- | --- | --- | --- |",
      row(
        "GetProduct calls/s vs raw grpc-js, one query per call",
        m("get", "baseline", "perSecond"),
        m("get", "product", "perSecond"),
        "",
        "",
        true,
        failed([...results.get!.product!, ...results.get!.baseline!]),
      ),
      row(
        "GetProduct calls/s vs raw grpc-js, reads coalesced per turn",
        m("get", "coalesced", "perSecond"),
        m("get", "product", "perSecond"),
        "",
        "≥ 0.9×",
        getRatio >= 0.9,
        failed(results.get!.coalesced!),
      ),
      row(
        "GetProduct p50 ms (vs coalesced)",
        m("get", "coalesced", "p50Ms"),
        m("get", "product", "p50Ms"),
        "",
        "",
        true,
        false,
        2,
      ),
      row(
        "GetProduct p99 ms (vs coalesced)",
        m("get", "coalesced", "p99Ms"),
        m("get", "product", "p99Ms"),
        "",
        "≤ baseline",
        m("get", "product", "p99Ms") <= m("get", "coalesced", "p99Ms"),
        false,
        2,
      ),
      row(
        "GetProduct calls/s over Connect with JSON, vs the same server's gRPC",
        m("get", "product", "perSecond"),
        m("connect", "product", "perSecond"),
        "",
        "",
        true,
        failed(results.connect!.product!),
      ),
      row(
        "ListProducts products/s (4 streams)",
        m("list", "baseline", "perSecond"),
        m("list", "product", "perSecond"),
        "",
        "≥ 1.0×",
        m("list", "product", "perSecond") >= m("list", "baseline", "perSecond"),
        failed([...results.list!.product!, ...results.list!.baseline!]),
      ),
      row(
        "BatchCreateProducts products/s vs COPY",
        median(copy),
        median(batch.map((r) => r.perSecond as number)),
        "",
        "≥ 0.6×",
        median(batch.map((r) => r.perSecond as number)) >= 0.6 * median(copy),
        failed(batch),
      ),
      row(
        "CreateProduct calls/s (64 callers)",
        m("create", "baseline", "perSecond"),
        m("create", "product", "perSecond"),
        "",
        "≥ 1.0×",
        m("create", "product", "perSecond") >= m("create", "baseline", "perSecond"),
        failed([...results.create!.product!, ...results.create!.baseline!]),
      ),
      row(
        `RSS growth under GetProduct load, ${SIZES.soakWarmupMs / 1000}th to ${SIZES.soakMs / 1000}th s, MiB`,
        undefined,
        soak.growthMiB,
        "",
        "< 32 MiB",
        soak.growthMiB < 32,
        soak.failed,
        1,
      ),
      row(
        "Product server peak RSS over the whole run, MiB",
        undefined,
        peakRss / 2 ** 20,
        "",
        `< ${fmt(DEPLOYMENT.memoryLimitBytes / 2 ** 20)} MiB (deploy/)`,
        peakRss < DEPLOYMENT.memoryLimitBytes,
        false,
      ),
      row(
        "WatchPrices delivered fraction",
        undefined,
        watch.fraction as number,
        "",
        "100%",
        watch.fraction === 1,
        failed([watch]),
        3,
      ),
      row(
        "WatchPrices delivery p50 / p99 ms",
        undefined,
        watch.p99Ms as number,
        `(p50 ${fmt(watch.p50Ms as number, 1)})`,
        "p99 ≤ 100 ms",
        (watch.p99Ms as number) <= 100,
        false,
        1,
      ),
      row(
        `RSS growth, stalled ${fmt(SIZES.huge)}-product stream, MiB`,
        undefined,
        stall.growthMiB as number,
        "",
        "< 64 MiB",
        (stall.growthMiB as number) < 64 && stall.products === SIZES.huge,
        failed([stall]),
        1,
      ),
    ];
    const cpu = (name: string, server: string, key: "serverCpuSeconds" | "loadCpuSeconds") =>
      median((results[name]![server] ?? []).map((r) => r[key]));
    const cpuLines = Object.keys(scenarios).map(
      (name) =>
        `- ${name}: server CPU s (baseline / product): ${fmt(cpu(name, "baseline", "serverCpuSeconds"), 1)} / ${fmt(cpu(name, "product", "serverCpuSeconds"), 1)}; load generator CPU s: ${fmt(cpu(name, "baseline", "loadCpuSeconds"), 1)} / ${fmt(cpu(name, "product", "loadCpuSeconds"), 1)}`,
    );
    process.stdout.write(
      `\n${SMOKE ? "SMOKE RUN (tiny sizes; figures mean nothing)\n\n" : ""}medians of ${SIZES.rounds} round(s), ${os.cpus().length} cores, Node ${process.version}\n\n${table.join("\n")}\n\n${cpuLines.join("\n")}\n`,
    );
    const anyFailed = table.some((line) => line.includes("FAILED"));
    if (anyFailed) process.exitCode = 1;
  } finally {
    for (const server of servers) server.child.kill("SIGTERM");
    await Promise.all(
      servers.map(
        (server) =>
          new Promise((resolve) =>
            server.child.exitCode !== null ? resolve(null) : server.child.once("exit", resolve),
          ),
      ),
    );
    await sql.end();
    await database.drop();
  }
}

void main();
