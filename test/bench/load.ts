// The load generator: one scenario per process, so its CPU is its own and
// is reported beside the servers'. GetProduct, CreateProduct, ListProducts
// and BatchCreateProducts go straight over node:http2 with pre-encoded
// messages, as h2load or ghz would send them (and GetProduct once more over
// the Connect protocol with JSON, as a browser or curl sends it); WatchPrices and the stall use
// grpc-js clients with the ts-proto codecs. Every status code is counted.
// Usage: load.ts '<scenario JSON>'  → prints one JSON result line
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import {
  BatchCreateResponse,
  CreateProductRequest,
  GetProductRequest,
  ListProductsRequest,
} from "../../gen/product/v1/product";
import { credentials, makeGenericClientConstructor, Metadata, type Client, type ServiceError } from "@grpc/grpc-js";
import { frame } from "../support/raw-grpc";
import { productGrpcDefinition } from "./grpc-definition";

const ProductClient = makeGenericClientConstructor(productGrpcDefinition, "ProductService");
type Calls = Record<string, (...args: unknown[]) => unknown>;

interface Common {
  readonly address: string;
  readonly token?: string;
}
type Scenario = Common &
  (
    | { kind: "get"; connections: number; concurrency: number; durationMs: number; idCount: number; idPrefix: string }
    | {
        kind: "connect-get";
        connections: number;
        concurrency: number;
        durationMs: number;
        idCount: number;
        idPrefix: string;
      }
    | { kind: "create"; connections: number; concurrency: number; durationMs: number }
    | { kind: "list"; streams: number; durationMs: number; category: string }
    | { kind: "batch"; streams: number; items: number }
    | {
        kind: "watch";
        watchers: number;
        connections: number;
        productIds: string[];
        perWatcher: number;
        updates: number;
        intervalMs: number;
      }
    | { kind: "stall"; category: string; stallMs: number; serverPid: number }
  );

const scenario = JSON.parse(process.argv[2] as string) as Scenario;
const codes: Record<string, number> = {};
const count = (code: string) => (codes[code] = (codes[code] ?? 0) + 1);
const metadata = new Metadata();
if (scenario.token !== undefined) metadata.set("authorization", `Bearer ${scenario.token}`);

function clients(n: number): Calls[] {
  // A local subchannel pool per client: n clients, n TCP connections.
  return Array.from(
    { length: n },
    () =>
      new ProductClient(scenario.address, credentials.createInsecure(), {
        "grpc.use_local_subchannel_pool": 1,
      }) as unknown as Calls,
  );
}
const codeOf = (error: ServiceError | null) => (error === null ? "OK" : String(error.code));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * Calls straight over node:http2, as h2load or ghz would make them: grpc-js's
 * client costs more CPU per message than the servers under test, and on two
 * cores the generator would measure itself.
 */
function rawSessions(n: number) {
  const sessions = Array.from({ length: n }, () => http2.connect(`http://${scenario.address}`));
  const headers = (path: string) => ({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    ...(scenario.token === undefined ? {} : { authorization: `Bearer ${scenario.token}` }),
  });
  return {
    /**
     * Starts a call; `onData` sees the response bytes. Resolves with its status
     * once it closed. `send` writes the request's frames, then ends it.
     */
    call(
      index: number,
      path: string,
      send: (stream: http2.ClientHttp2Stream) => void,
      onData: (chunk: Buffer) => void = () => undefined,
    ): Promise<string> {
      return new Promise((resolve) => {
        let code = "no status";
        const stream = (sessions[index % n] as http2.ClientHttp2Session).request(headers(path));
        const statusOf = (h: http2.IncomingHttpHeaders) => {
          const value = h["grpc-status"];
          if (value !== undefined) code = value === "0" ? "OK" : String(value);
        };
        stream.on("response", statusOf);
        stream.on("trailers", statusOf);
        stream.on("data", onData);
        stream.on("close", () => resolve(code));
        stream.on("error", () => undefined);
        send(stream);
      });
    },
    close: () => sessions.forEach((session) => session.close()),
  };
}

/** Counts the messages of a response as its bytes arrive, without decoding them (their 5-byte prefixes). */
function messageCounter(onMessage: (body: Buffer | undefined) => void, keepBodies = false) {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let offset = 0;
    while (pending.length - offset >= 5) {
      const length = pending.readUInt32BE(offset + 1);
      if (pending.length - offset < 5 + length) break;
      onMessage(keepBodies ? pending.subarray(offset + 5, offset + 5 + length) : undefined);
      offset += 5 + length;
    }
    pending = pending.subarray(offset);
  };
}

async function rawClosedLoop(
  concurrency: number,
  connections: number,
  durationMs: number,
  path: string,
  message: () => Uint8Array,
) {
  const raw = rawSessions(connections);
  const latencies: number[] = [];
  const until = Date.now() + durationMs;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      while (Date.now() < until) {
        const t0 = process.hrtime.bigint();
        const request = frame(message());
        count(await raw.call(i, path, (stream) => stream.end(request)));
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  raw.close();
  latencies.sort((a, b) => a - b);
  return {
    calls: latencies.length,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

function unary(client: Calls, method: string, request: unknown): Promise<{ code: string; response: unknown }> {
  return new Promise((resolve) =>
    client[method]!(request, metadata, (error: ServiceError | null, response: unknown) =>
      resolve({ code: codeOf(error), response }),
    ),
  );
}

function readStream(stream: NodeJS.ReadableStream & { cancel?(): void }, onMessage: () => void): Promise<string> {
  return new Promise((resolve) => {
    stream.on("data", onMessage);
    stream.on("error", (error: ServiceError) => resolve(codeOf(error)));
    stream.on("end", () => resolve("OK"));
  });
}

/** GetProduct as a browser or curl sends it: the Connect protocol, a JSON body, over HTTP/2. */
async function connectClosedLoop(
  concurrency: number,
  connections: number,
  durationMs: number,
  body: () => string,
): Promise<Record<string, unknown>> {
  const sessions = Array.from({ length: connections }, () => http2.connect(`http://${scenario.address}`));
  const call = (index: number, json: string) =>
    new Promise<string>((resolve) => {
      const stream = (sessions[index % connections] as http2.ClientHttp2Session).request({
        ":method": "POST",
        ":path": "/product.v1.ProductService/GetProduct",
        "content-type": "application/json",
        "connect-protocol-version": "1",
        ...(scenario.token === undefined ? {} : { authorization: `Bearer ${scenario.token}` }),
      });
      let status = "no status";
      stream.on("response", (headers) => (status = headers[":status"] === 200 ? "OK" : `HTTP ${headers[":status"]}`));
      stream.on("data", () => undefined);
      stream.on("close", () => resolve(status));
      stream.on("error", () => undefined);
      stream.end(json);
    });
  const latencies: number[] = [];
  const until = Date.now() + durationMs;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      while (Date.now() < until) {
        const t0 = process.hrtime.bigint();
        count(await call(i, body()));
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  sessions.forEach((session) => session.close());
  latencies.sort((a, b) => a - b);
  return {
    calls: latencies.length,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

async function run(): Promise<Record<string, unknown>> {
  switch (scenario.kind) {
    case "connect-get": {
      const { idCount, idPrefix } = scenario;
      return connectClosedLoop(scenario.concurrency, scenario.connections, scenario.durationMs, () => {
        const n = Math.floor(Math.random() * idCount);
        return JSON.stringify({ id: `${idPrefix}${n.toString(16).padStart(12, "0")}` });
      });
    }
    case "get": {
      const { idCount, idPrefix } = scenario;
      return rawClosedLoop(
        scenario.concurrency,
        scenario.connections,
        scenario.durationMs,
        "/product.v1.ProductService/GetProduct",
        () => {
          const n = Math.floor(Math.random() * idCount);
          return GetProductRequest.encode({ id: `${idPrefix}${n.toString(16).padStart(12, "0")}` }).finish();
        },
      );
    }
    case "create": {
      const message = CreateProductRequest.encode(
        CreateProductRequest.fromPartial({
          name: "bench product",
          price: 9.99,
          categoryId: "bench-create",
          tags: ["bench"],
        }),
      ).finish();
      return rawClosedLoop(
        scenario.concurrency,
        scenario.connections,
        scenario.durationMs,
        "/product.v1.ProductService/CreateProduct",
        () => message,
      );
    }
    case "list": {
      const raw = rawSessions(scenario.streams);
      const request = frame(
        ListProductsRequest.encode({ category: scenario.category, pageSize: 0, pageToken: "" }).finish(),
      );
      let products = 0;
      const until = Date.now() + scenario.durationMs;
      const started = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: scenario.streams }, async (_, i) => {
          while (Date.now() < until) {
            const onData = messageCounter(() => (products += 1));
            count(
              await raw.call(i, "/product.v1.ProductService/ListProducts", (stream) => stream.end(request), onData),
            );
          }
        }),
      );
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      raw.close();
      return { products, perSecond: products / seconds };
    }
    case "batch": {
      // Every request frame is encoded before the clock starts, and written in
      // blocks of about 64 KiB, waiting whenever the stream asks to drain.
      const blocks = Array.from({ length: scenario.streams }, (_, s) => {
        const frames = Array.from({ length: scenario.items }, (_, i) =>
          frame(
            CreateProductRequest.encode({
              name: `batch ${s}-${i}`,
              price: i % 100,
              categoryId: "bench-batch",
              tags: ["bench"],
              requestId: "",
            }).finish(),
          ),
        );
        const result: Buffer[] = [];
        for (let start = 0; start < frames.length;) {
          let end = start;
          let bytes = 0;
          while (end < frames.length && bytes < 64 * 1024) bytes += (frames[end++] as Buffer).length;
          result.push(Buffer.concat(frames.slice(start, end)));
          start = end;
        }
        return result;
      });
      const raw = rawSessions(scenario.streams);
      const started = process.hrtime.bigint();
      let created = 0;
      await Promise.all(
        blocks.map(async (streamBlocks, s) => {
          const onData = messageCounter((body) => {
            created += BatchCreateResponse.decode(body as Buffer).createdCount;
          }, true);
          const send = (stream: http2.ClientHttp2Stream) => {
            let next = 0;
            const pump = () => {
              while (next < streamBlocks.length) {
                if (!stream.write(streamBlocks[next++])) return void stream.once("drain", pump);
              }
              stream.end();
            };
            pump();
          };
          count(await raw.call(s, "/product.v1.ProductService/BatchCreateProducts", send, onData));
        }),
      );
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      raw.close();
      return { products: created, perSecond: created / seconds };
    }
    case "watch": {
      const pool = clients(scenario.connections);
      const sentAt = new Map<string, number>();
      const latencies: number[] = [];
      let expected = 0;
      const watching = new Map<string, number>(); // product → watchers
      const streams: { cancel(): void }[] = [];
      let ready = 0;
      await new Promise<void>((resolve) => {
        for (let w = 0; w < scenario.watchers; w += 1) {
          const ids = Array.from(
            { length: scenario.perWatcher },
            (_, k) => scenario.productIds[(w + k * 7) % scenario.productIds.length] as string,
          );
          for (const id of new Set(ids)) watching.set(id, (watching.get(id) ?? 0) + 1);
          const stream = (pool[w % scenario.connections] as Calls).watchPrices!(metadata) as NodeJS.ReadWriteStream & {
            write(m: unknown): boolean;
            cancel(): void;
          };
          let initial = new Set(ids).size;
          stream.on("data", (update: { productId: string; newPrice: number }) => {
            if (initial > 0) {
              initial -= 1;
              if (initial === 0 && ++ready === scenario.watchers) resolve();
              return;
            }
            const at = sentAt.get(`${update.productId}:${update.newPrice}`);
            if (at !== undefined) latencies.push(Number(process.hrtime.bigint()) / 1e6 - at);
          });
          stream.on("error", (error: ServiceError) => count(codeOf(error)));
          stream.write({ productIds: ids });
          streams.push(stream);
        }
      });
      const writer = clients(1)[0] as Calls;
      for (let u = 0; u < scenario.updates; u += 1) {
        const id = scenario.productIds[u % scenario.productIds.length] as string;
        const price = 10_000 + u;
        expected += watching.get(id) ?? 0;
        sentAt.set(`${id}:${price}`, Number(process.hrtime.bigint()) / 1e6);
        count((await unary(writer, "updatePrice", { id, price })).code);
        await new Promise((resolve) => setTimeout(resolve, scenario.intervalMs));
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      for (const stream of streams) stream.cancel();
      for (const client of pool) (client as unknown as Client).close();
      (writer as unknown as Client).close();
      latencies.sort((a, b) => a - b);
      return {
        expected,
        delivered: latencies.length,
        fraction: latencies.length / Math.max(expected, 1),
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
      };
    }
    case "stall": {
      const rss = () =>
        Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${scenario.serverPid}/status`, "utf8"))?.[1] ?? 0) * 1024;
      const before = rss();
      const [client] = clients(1) as [Calls];
      const stream = client.listProducts!(
        { category: scenario.category, pageSize: 0, pageToken: "" },
        metadata,
      ) as NodeJS.ReadableStream;
      let products = 0;
      stream.pause();
      await new Promise((resolve) => stream.once("readable", resolve));
      let peak = before;
      const until = Date.now() + scenario.stallMs;
      while (Date.now() < until) {
        peak = Math.max(peak, rss());
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      stream.resume();
      count(await readStream(stream, () => (products += 1)));
      (client as unknown as Client).close();
      return { rssBefore: before, rssPeakStalled: peak, growthMiB: (peak - before) / 2 ** 20, products };
    }
  }
}

void run().then((result) => {
  const cpu = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ ...result, codes, loadCpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
  process.exit(0);
});
