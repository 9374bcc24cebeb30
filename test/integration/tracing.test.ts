// OpenTelemetry across services: this test is a caller with a trace of its
// own; it calls a "frontend" service (in this process, traced by
// nice-grpc-opentelemetry) whose handler calls the product server (a real
// server process with OTEL_EXPORTER_OTLP_ENDPOINT set) through the typed
// client. The product server's spans arrive over OTLP/HTTP at a receiver the
// test runs, in the caller's trace, each parented by the span that called it.
// A server without the variable exports nothing.
import { once } from "node:events";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { ServerCredentials } from "@grpc/grpc-js";
import { createServer as createNiceServer, ServerError, Status, type Server } from "nice-grpc";
import { openTelemetryServerMiddleware } from "nice-grpc-opentelemetry";
import { ProductServiceDefinition } from "../../gen/product/v1/product";
import { createProductClient } from "../../src/client";
import { signToken } from "../../src/auth/development-secret";
import { SCOPES } from "../../src/auth/scopes";
import { partialService } from "../support/products";
import { startServerProcess, type ServerProcess } from "../support/processes/server-process";

const SECRET = "a-tracing-test-secret-of-at-least-32-bytes";
const AUTH = { key: { kind: "secret", secret: SECRET }, issuer: "tracing", audience: "tracing" } as const;
const serverEnv = (dataDir: string) => ({
  DATA_DIR: dataDir,
  JWT_SECRET: SECRET,
  JWT_ISSUER: "tracing",
  JWT_AUDIENCE: "tracing",
});

/** An OTLP span as the JSON encoding carries it. */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  status?: { code?: number };
  attributes: { key: string; value: Record<string, unknown> }[];
}
interface OtlpExport {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}

/** A local OTLP/HTTP receiver: every span posted to /v1/traces, with its resource's service.name. */
async function startReceiver() {
  const spans: (OtlpSpan & { service: string })[] = [];
  const server: HttpServer = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.url === "/v1/traces") {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as OtlpExport;
        for (const resourceSpans of body.resourceSpans) {
          const service =
            resourceSpans.resource.attributes.find((attribute) => attribute.key === "service.name")?.value
              .stringValue ?? "";
          for (const scope of resourceSpans.scopeSpans)
            for (const span of scope.spans) spans.push({ ...span, service });
        }
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    spans,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Stops a server process gracefully: it exports the spans it still holds before it exits. */
async function stop(server: ServerProcess): Promise<void> {
  server.child.kill("SIGTERM");
  expect(await server.exited).toBe(0);
}

const hex = (id: string) => id.toLowerCase();

describe("tracing", () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let traced: ServerProcess;
  let untraced: ServerProcess;
  const local = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: local })] });
  let frontend: Server;
  let frontendPort: number;
  let token: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    const dir = mkdtempSync(path.join(os.tmpdir(), "tracing-"));
    traced = await startServerProcess({
      ...serverEnv(path.join(dir, "traced")),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: "products-traced",
    });
    untraced = await startServerProcess({
      ...serverEnv(path.join(dir, "untraced")),
      OTEL_SERVICE_NAME: "products-untraced",
    });
    token = await signToken(SECRET, AUTH, [SCOPES.read, SCOPES.write]);

    // This process is the services upstream of the product server, traced as any service would be.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);

    // The frontend's GetProduct asks the product server, from inside its own handler.
    const products = createProductClient({ address: `127.0.0.1:${traced.port}`, insecure: true, token });
    frontend = createNiceServer().use(openTelemetryServerMiddleware());
    frontend.add(
      ProductServiceDefinition,
      partialService({
        async getProduct(request) {
          const product = await products.getProduct(request.id);
          if (product === null) throw new ServerError(Status.NOT_FOUND, "not found upstream");
          return product;
        },
      }),
    );
    frontendPort = await frontend.listen("127.0.0.1:0", ServerCredentials.createInsecure());
  });
  afterAll(async () => {
    await frontend?.shutdown();
    for (const server of [traced, untraced]) if (server?.child.exitCode === null) server.child.kill("SIGKILL");
    await receiver?.close();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  test("a call through two services is one trace, each hop the child of the span that made it", async () => {
    const direct = createProductClient({ address: `127.0.0.1:${traced.port}`, insecure: true, token });
    const viaFrontend = createProductClient({
      address: `127.0.0.1:${frontendPort}`,
      insecure: true,
      token,
      retry: false,
    });
    let caller: { traceId: string; spanId: string } | undefined;
    let missing: unknown;
    try {
      await trace.getTracer("test").startActiveSpan("checkout", async (span) => {
        caller = span.spanContext();
        const created = await direct.createProduct({ name: "Traced", price: 2, categoryId: "tracing", tags: [] });
        expect(await viaFrontend.getProduct(created.id)).toMatchObject({ name: "Traced" });
        missing = await viaFrontend.getProduct("00000000-0000-4000-8000-000000000000");
        span.end();
      });
    } finally {
      direct.close();
      viaFrontend.close();
    }
    await stop(traced);

    const traceId = hex(caller!.traceId);
    const exported = receiver.spans.filter(
      (span) => span.service === "products-traced" && hex(span.traceId) === traceId,
    );
    const mine = local.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
    const clientSpans = (name: string) => mine.filter((span) => span.kind === SpanKind.CLIENT && span.name === name);
    const serverSpans = (name: string) =>
      exported.filter((span) => span.kind === 2 /* SPAN_KIND_SERVER */ && span.name === name);

    // checkout → CreateProduct (client) → CreateProduct (server, exported by the product server)
    const [createClient] = clientSpans("product.v1.ProductService/CreateProduct");
    expect(createClient?.parentSpanContext?.spanId).toBe(caller!.spanId);
    const [createServer] = serverSpans("product.v1.ProductService/CreateProduct");
    expect(hex(createServer?.parentSpanId ?? "")).toBe(createClient?.spanContext().spanId);

    // checkout → GetProduct (client) → frontend (server) → GetProduct (its client) → product server
    const frontendServer = mine.filter((span) => span.kind === SpanKind.SERVER);
    expect(frontendServer).toHaveLength(2);
    const getClients = clientSpans("product.v1.ProductService/GetProduct");
    const upstream = getClients.filter((span) =>
      frontendServer.some((server) => server.spanContext().spanId === span.parentSpanContext?.spanId),
    );
    expect(upstream).toHaveLength(2);
    const productServerGets = serverSpans("product.v1.ProductService/GetProduct");
    expect(productServerGets.map((span) => hex(span.parentSpanId ?? "")).sort()).toEqual(
      upstream.map((span) => span.spanContext().spanId).sort(),
    );

    // The miss is an error span with its gRPC status on both servers.
    const notFound = productServerGets.find((span) => span.status?.code === 2 /* STATUS_CODE_ERROR */);
    expect(notFound?.attributes).toEqual(
      expect.arrayContaining([{ key: "rpc.grpc.status_code", value: { intValue: Status.NOT_FOUND } }]),
    );
    // The typed client reads NOT_FOUND as null.
    expect(missing).toBeNull();
  });

  test("without OTEL_EXPORTER_OTLP_ENDPOINT nothing is exported", async () => {
    const client = createProductClient({ address: `127.0.0.1:${untraced.port}`, insecure: true, token });
    await trace.getTracer("test").startActiveSpan("untraced", async (span) => {
      await client.createProduct({ name: "Untraced", price: 1, categoryId: "", tags: [] });
      span.end();
    });
    client.close();
    await stop(untraced);
    expect(receiver.spans.filter((span) => span.service === "products-untraced")).toEqual([]);
  });
});
