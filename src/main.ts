// The process entry: configuration, database, migrations, server, signals.
// Everything it wires together is built by factories that tests call directly.
import { readFileSync } from "node:fs";
import path from "node:path";
import { loadDevelopmentSecret, signToken } from "./auth/development-secret";
import { SCOPES } from "./auth/scopes";
import { createTokenVerifier } from "./auth/token-verifier";
import { ConfigError, loadConfig, type Config } from "./config";
import { openDatabase } from "./db/client";
import { migrateDatabase } from "./db/migrate";
import { createMetrics, startMetricsServer } from "./observability/metrics";
import { createLogger, flushLogs } from "./observability/logger";
import { startHealthServer } from "./health/health-server";
import { createServer } from "./server";
import { startTracing } from "./observability/telemetry";

/** The package's version, on every span: package.json is above src/ (ts) or dist/src/ (compiled). */
const VERSION = (
  JSON.parse(
    readFileSync(
      path.resolve(
        __dirname,
        __dirname.includes(`${path.sep}dist${path.sep}`) ? "../../package.json" : "../package.json",
      ),
      "utf8",
    ),
  ) as { version: string }
).version;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);

  const tracing = startTracing({
    otlpEndpoint: config.otlpEndpoint,
    serviceName: config.otelServiceName,
    serviceVersion: VERSION,
  });
  if (tracing.enabled) logger.info({ endpoint: config.otlpEndpoint }, "exporting traces over OTLP");

  const database = await openDatabase({
    url: config.databaseUrl,
    directUrl: config.databaseDirectUrl,
    dataDir: config.dataDir,
    poolMax: config.databasePoolMax,
    prepare: config.databasePrepare,
    // No statement outlives the longest call.
    statementTimeoutMs: config.maxDeadlineMs,
  });
  await migrateDatabase(database);
  logger.info({ backend: database.backend }, "database ready");

  const developmentSecret = config.auth.key.kind === "development" ? loadDevelopmentSecret(config.dataDir) : undefined;
  const metrics =
    config.metricsPort === undefined
      ? undefined
      : createMetrics({ connectionsInUse: () => database.connectionsInUse() });
  const app = await createServer({
    database,
    logger,
    reflection: config.reflection,
    tracing: tracing.enabled,
    limits: {
      batchMaxItems: config.batchMaxItems,
      watchMaxIds: config.watchMaxIds,
      batchMaxResponseBytes: config.batchMaxResponseBytes,
    },
    idempotencyRetentionMs: config.idempotencyRetentionMs,
    corsAllowedOrigins: config.corsAllowedOrigins,
    deadlines: { defaultMs: config.defaultDeadlineMs, maxMs: config.maxDeadlineMs },
    verifier: createTokenVerifier(config.auth, { developmentSecret }),
    metrics,
  });
  const metricsServer =
    metrics === undefined || config.metricsPort === undefined
      ? undefined
      : await startMetricsServer(metrics.registry, config.host, config.metricsPort);
  if (metricsServer !== undefined) logger.info({ port: metricsServer.port }, "metrics at /metrics");
  const address = `${config.host}:${config.port}`;
  const port = await app.listen(config.host, config.port, config.tls).catch(async (error: unknown) => {
    // Give the data directory back before saying why, so the next start is not refused.
    await app.close();
    await metricsServer?.close();
    await database.close();
    throw new Error(
      `cannot listen on ${address}: ${/EADDRINUSE|address already in use/i.test(String(error)) ? "the address is in use" : String(error)}`,
    );
  });
  const healthServer =
    config.healthPort === undefined ? undefined : await startHealthServer(app.health, config.host, config.healthPort);
  if (healthServer !== undefined) logger.info({ port: healthServer.port }, "plaintext health-only server listening");
  app.serve();
  // From the moment it listens, a signal stops it gracefully.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: config.shutdownGraceMs }, "shutting down");
    const graceful = await app.shutdown(config.shutdownGraceMs);
    healthServer?.close();
    await metricsServer?.close();
    await database.close();
    await tracing.shutdown().catch((error: unknown) => logger.warn({ err: error }, "could not export the last traces"));
    logger.info({ graceful }, "stopped");
    flushLogs(logger);
    // Non-zero tells the orchestrator that calls were cut off.
    process.exit(graceful ? 0 : 1);
  };
  process.on("SIGTERM", (signal) => void stop(signal));
  process.on("SIGINT", (signal) => void stop(signal));
  logger.info(
    { host: config.host, port, tls: config.tls !== undefined, mtls: config.tls?.clientCa !== undefined },
    "listening",
  );
  flushLogs(logger);
  if (developmentSecret !== undefined) await printHowToCall(config, port, developmentSecret);
}

/** For `make run` with no JWT configuration: a ready token and a call that uses it. */
async function printHowToCall(config: Config, port: number, secret: string): Promise<void> {
  const token = await signToken(secret, config.auth, [SCOPES.read, SCOPES.write]);
  const scheme = config.tls === undefined ? "http" : "https";
  // With TLS, buf curl must trust the CA that signed TLS_CERT_FILE (and, for mTLS, present a client certificate).
  const transport =
    config.tls === undefined
      ? " --http2-prior-knowledge"
      : ` --cacert <CA that signed TLS_CERT_FILE>${config.tls.clientCa === undefined ? "" : " --cert <client.crt> --key <client.key>"}`;
  process.stderr.write(
    [
      "",
      `No JWT key is configured: tokens are signed with the development secret in ${config.dataDir}/.`,
      `A token with ${SCOPES.read} and ${SCOPES.write}, valid for 12 hours (make token SCOPES=... for others):`,
      "",
      `  TOKEN=${token}`,
      "",
      "Try:",
      "",
      `  node_modules/.bin/buf curl --protocol grpc${transport} -H "Authorization: Bearer $TOKEN" \\`,
      `    -d '{"name":"Espresso cup","price":4.5}' ${scheme}://${config.host}:${port}/product.v1.ProductService/CreateProduct`,
      "",
      "",
    ].join("\n"),
  );
}

// A start-up failure is one line an operator can act on (a configuration
// error lists every bad variable), not a stack trace.
main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`failed to start: ${message.split("\n")[0]}\n`);
  }
  process.exit(1);
});
