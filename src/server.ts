// Builds the gRPC server: ProductService behind its middleware chain, health
// and reflection. It does not listen; the caller picks the address, so tests
// run it on port 0 and main.ts on the configured one.
import { HealthDefinition, HealthServiceImpl, HealthState } from "nice-grpc-server-health";
import { ServerReflectionService } from "nice-grpc-server-reflection";
import { errorDetailsServerMiddleware } from "nice-grpc-error-details";
import { openTelemetryServerMiddleware } from "nice-grpc-opentelemetry";
import { ProductServiceDefinition } from "../gen/product/v1/product";
import { REQUIRED_SCOPES } from "./auth/scopes";
import type { TokenVerifier } from "./auth/token-verifier";
import { SERVICE_DEFAULTS } from "./config";
import { createCallObserver } from "./observability/call-observer";
import type { DatabaseHandle } from "./db/client";
import { startDatabaseHealth, type DatabaseHealth } from "./health/database-health";
import { createServingStatus } from "./health/serving-status";
import type { Logger } from "./observability/logger";
import type { CallMetrics } from "./observability/metrics";
import { createAuthMiddleware } from "./middleware/auth";
import { createErrorsMiddleware, describeTransportStatus } from "./middleware/errors";
import { HEALTH_SERVICE_FULL_NAME } from "./health/health-descriptor";
import { createReflection, ServerReflectionV1AlphaService } from "./services/reflection";
import { createWriteRunner } from "./repos/idempotency-repo";
import { createProductRepo } from "./repos/product-repo";
import { startKeySweeper, type KeySweeper } from "./services/key-sweeper";
import { readServiceSecret } from "./repos/secret-repo";
import { createPageTokenCodec } from "./services/page-token";
import { startPriceFeed } from "./services/price-feed";
import { createPriceWatchHub, type PriceWatchHub } from "./services/price-watch-hub";
import { createProductService, type ProductServiceLimits } from "./services/product-service";
import { closeGracefully } from "./shutdown";
import { createCallTracker, type CallTracker } from "./transport/call-tracker";
import type { TlsSettings } from "./transport/connection-listener";
import { requestFieldNames } from "./transport/message-codec";
import { createTransportServer } from "./transport/transport-server";
import { descriptorSet } from "../gen/descriptor_set";
import { healthDescriptorSet } from "./health/health-descriptor";

/** The fully qualified name health reports ProductService under (beside "" for the whole server). */
export const PRODUCT_SERVICE_NAME = ProductServiceDefinition.fullName;
/**
 * Every service's descriptors: two encoded FileDescriptorSets concatenated
 * are one set holding the files of both (a repeated field merges).
 */
const DESCRIPTORS = Buffer.concat([descriptorSet, healthDescriptorSet]);
/** Streams that stay open as long as the client wants: no default deadline, no ceiling. */
const LONG_LIVED_METHODS: ReadonlySet<string> = new Set([
  `/${PRODUCT_SERVICE_NAME}/${ProductServiceDefinition.methods.watchPrices.name}`,
]);

export interface ServerDeps {
  /** A migrated database. */
  readonly database: DatabaseHandle;
  readonly logger: Logger;
  readonly limits: ProductServiceLimits;
  readonly deadlines: { readonly defaultMs: number; readonly maxMs: number };
  readonly verifier: TokenVerifier;
  /** Where call metrics go; none when absent. */
  readonly metrics?: CallMetrics;
  /** Serve gRPC reflection (grpcurl, buf curl). */
  readonly reflection: boolean;
  /** Trace every ProductService call (the tracer provider is registered: src/observability/telemetry.ts). */
  readonly tracing?: boolean;
  /** How long idempotency keys are kept; default 24 hours. */
  readonly idempotencyRetentionMs?: number;
  /** Origins whose browser pages may call (CORS); none by default. */
  readonly corsAllowedOrigins?: readonly string[];
}

export interface ProductServer {
  /** Accepts connections on host:port (0 picks a free port), with TLS when given; resolves to the port. */
  listen(host: string, port: number, tls?: TlsSettings): Promise<number>;
  /** The calls in flight (status not yet sent, or handler still running). */
  readonly calls: CallTracker;
  /** Health status per service, watched by grpc.health.v1 clients. */
  readonly health: HealthState;
  readonly priceWatch: PriceWatchHub;
  /** Call once listening: reports SERVING, then follows the database's reachability. */
  serve(): void;
  /**
   * Graceful shutdown: NOT_SERVING at once, new calls refused, streams ended
   * with UNAVAILABLE, unary calls in flight left to finish. Past `graceMs`
   * the remaining calls are cancelled. Connections are closed as soon as no
   * call runs: it does not wait for clients to hang up, nor for a client that
   * keeps its request stream open after its call ended. Resolves to whether
   * every call finished in time. The database stays open: it is the caller's.
   */
  shutdown(graceMs: number): Promise<boolean>;
  /** Stops at once: connections dropped; the database health check, the key sweeper and the price feed stopped. */
  close(): Promise<void>;
}

export async function createServer(deps: ServerDeps): Promise<ProductServer> {
  const { database, logger } = deps;

  const priceWatch = createPriceWatchHub();
  const products = createProductRepo(database);
  const retentionMs = deps.idempotencyRetentionMs ?? SERVICE_DEFAULTS.idempotencyRetentionMs;
  const writes = createWriteRunner(database, { retentionMs });
  const health = HealthState();
  // The serving status reads whether the feed listens; the feed tells it when that changes.
  let feedListening = () => false;
  const serving = createServingStatus(health, PRODUCT_SERVICE_NAME, () => feedListening());
  const feed = await startPriceFeed({ database, products, hub: priceWatch, logger, onChange: () => serving.update() });
  feedListening = () => feed.listening;
  const productService = createProductService({
    products,
    writes,
    priceWatch,
    pageTokens: createPageTokenCodec(await readServiceSecret(database.db, "page_token")),
    limits: deps.limits,
  });

  // Every call, whatever its service, gets its scope from the transport: the
  // deadline, the request id, one signal, its log line and metrics.
  const calls = createCallTracker();
  const server = createTransportServer({
    deadlines: { ...deps.deadlines, longLived: LONG_LIVED_METHODS },
    calls,
    observer: createCallObserver(logger, deps.metrics),
    describeStatus: describeTransportStatus,
    onUnexpectedError: (error, method, requestId) => logger.error({ requestId, method, err: error }, "unhandled error"),
    requestFields: requestFieldNames(DESCRIPTORS),
    web: { cors: { allowedOrigins: deps.corsAllowedOrigins ?? [] }, descriptorSet: DESCRIPTORS },
  });
  // The order of the chain is fixed here and only here: error details first,
  // so the details of any status reach the trailer; errors next, so whatever
  // auth or the service throws becomes a status written in one place. Health
  // and reflection need no token.
  // Tracing, when on, comes before them all, so its span covers the whole call and records its final status.
  (deps.tracing === true ? server.with(openTelemetryServerMiddleware()) : server)
    .with(errorDetailsServerMiddleware)
    .with(createErrorsMiddleware(logger))
    .with(createAuthMiddleware({ verifier: deps.verifier, requiredScopes: REQUIRED_SCOPES }))
    .add(ProductServiceDefinition, productService);

  server.add(HealthDefinition, HealthServiceImpl(health));
  if (deps.reflection) {
    const reflection = createReflection(DESCRIPTORS, [PRODUCT_SERVICE_NAME, HEALTH_SERVICE_FULL_NAME]);
    server.addCompat(ServerReflectionService, reflection);
    server.addCompat(ServerReflectionV1AlphaService, reflection);
  }

  deps.metrics?.initialize(server.methods);

  let databaseHealth: DatabaseHealth | undefined;
  let sweeper: KeySweeper | undefined;
  const stopBackgroundWork = () => {
    databaseHealth?.stop();
    sweeper?.stop();
  };

  return {
    listen: (host, port, tls) => server.listen(host, port, tls),
    calls,
    health,
    priceWatch,
    serve() {
      serving.setStarted(true);
      databaseHealth = startDatabaseHealth({
        database,
        logger,
        onChange: (answers) => serving.setDatabaseServing(answers),
      });
      sweeper = startKeySweeper({ writes, retentionMs, logger });
    },
    async shutdown(graceMs) {
      stopBackgroundWork();
      serving.setStarted(false);
      // One turn for health watchers to be sent NOT_SERVING before their streams end.
      await new Promise((resolve) => setImmediate(resolve));
      const graceful = await closeGracefully(server, calls, graceMs, logger);
      await feed.stop();
      return graceful;
    },
    async close() {
      stopBackgroundWork();
      server.destroy();
      await feed.stop();
    },
  };
}
