// Builds the gRPC server: ProductService behind its middleware chain, health
// and reflection. It does not listen; the caller picks the address, so tests
// run it on port 0 and main.ts on the configured one.
import type { ChannelOptions } from "@grpc/grpc-js";
import { createServer as createGrpcServer, type Server } from "nice-grpc";
import { HealthDefinition, HealthServiceImpl, HealthState } from "nice-grpc-server-health";
import { ServerReflectionService } from "nice-grpc-server-reflection";
import { ProductServiceDefinition } from "../gen/product/v1/product";
import { REQUIRED_SCOPES } from "./auth/scopes";
import type { TokenVerifier } from "./auth/token-verifier";
import type { DatabaseHandle } from "./db/client";
import { startHealthMonitor, type HealthMonitor } from "./health-monitor";
import type { Logger } from "./logger";
import type { CallMetrics } from "./metrics";
import { createAuthMiddleware } from "./middleware/auth";
import { createDeadlineMiddleware } from "./middleware/deadline";
import { createErrorsMiddleware } from "./middleware/errors";
import { createLoggingMiddleware } from "./middleware/logging";
import { requestIdMiddleware } from "./middleware/request-id";
import { createTerminator, createTerminatorMiddleware } from "./middleware/terminator";
import { createReflection, ServerReflectionV1AlphaService } from "./reflection";
import { listenForPriceChanges } from "./repos/price-changes";
import { createProductRepo } from "./repos/product-repo";
import { readServiceSecret } from "./repos/secret-repo";
import { createPageTokenCodec } from "./services/page-token";
import { createPriceWatchHub, type PriceWatchHub } from "./services/price-watch-hub";
import { createProductService, type ProductServiceLimits } from "./services/product-service";
import { callDeadlineInterceptor } from "./transport/call-deadline";

/** The fully qualified names health reports on: the whole server ("") and each service. */
export const PRODUCT_SERVICE_NAME = ProductServiceDefinition.fullName;
export const HEALTH_SERVICE_NAMES = ["", PRODUCT_SERVICE_NAME] as const;
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
}

export interface ProductServer {
  readonly server: Server;
  /** Health status per service, watched by grpc.health.v1 clients. */
  readonly health: HealthState;
  readonly priceWatch: PriceWatchHub;
  /** Call once listening: reports SERVING, then follows the database's reachability. */
  serve(): void;
  /**
   * Graceful shutdown: NOT_SERVING at once, new calls refused, streams ended
   * with UNAVAILABLE, unary calls in flight left to finish. Past `graceMs`
   * the remaining calls are cancelled. Resolves to whether it was graceful.
   * The database stays open: it is the caller's.
   */
  shutdown(graceMs: number): Promise<boolean>;
  /** Stops health monitoring and listening for price changes (after the server has stopped). */
  close(): Promise<void>;
}

export async function createServer(deps: ServerDeps): Promise<ProductServer> {
  const { database, logger } = deps;

  const priceWatch = createPriceWatchHub();
  const unlisten = await listenForPriceChanges(database, priceWatch.publish, (payload) =>
    logger.error({ payload }, "unreadable price change notification"),
  );
  const productService = createProductService({
    products: createProductRepo(database.db),
    priceWatch,
    pageTokens: createPageTokenCodec(await readServiceSecret(database.db, "page_token")),
    limits: deps.limits,
  });

  // nice-grpc hands these options to grpc-js's Server, which runs the interceptors.
  const server = createGrpcServer({ interceptors: [callDeadlineInterceptor] } as ChannelOptions);
  const terminator = createTerminator();
  const terminatorMiddleware = createTerminatorMiddleware(terminator);
  // The order of the chain is fixed here and only here: the request id
  // first, so every later step can log it; errors inside logging, so the
  // logged code is the one the client gets; the terminator outside the
  // deadline, so shutdown reaches every stream's handler; the deadline
  // before auth, so a slow key fetch is bounded too. Health and reflection
  // need no token, but their streams end at shutdown too.
  server
    .with(requestIdMiddleware)
    .with(createLoggingMiddleware(logger, deps.metrics))
    .with(createErrorsMiddleware(logger))
    .with(terminatorMiddleware)
    .with(createDeadlineMiddleware({ ...deps.deadlines, longLived: LONG_LIVED_METHODS }))
    .with(createAuthMiddleware({ verifier: deps.verifier, requiredScopes: REQUIRED_SCOPES }))
    .add(ProductServiceDefinition, productService);

  const health = HealthState();
  // NOT_SERVING until the caller says otherwise: a probe must not route
  // traffic to a server that is not ready.
  setServing(health, false);
  server.with(terminatorMiddleware).add(HealthDefinition, HealthServiceImpl(health));
  if (deps.reflection) {
    const reflection = createReflection([PRODUCT_SERVICE_NAME]);
    server.with(terminatorMiddleware).add(ServerReflectionService, reflection);
    server.with(terminatorMiddleware).add(ServerReflectionV1AlphaService, reflection);
  }

  let monitor: HealthMonitor | undefined;
  const stopMonitoring = () => monitor?.stop();

  return {
    server,
    health,
    priceWatch,
    serve() {
      setServing(health, true);
      monitor = startHealthMonitor({ database, logger, onChange: (serving) => setServing(health, serving) });
    },
    async shutdown(graceMs) {
      stopMonitoring();
      setServing(health, false);
      // One turn for health watchers to be sent NOT_SERVING before their streams end.
      await new Promise((resolve) => setImmediate(resolve));
      terminator.terminate();
      let timer: NodeJS.Timeout | undefined;
      const graceful = await Promise.race([
        server.shutdown().then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
      ]);
      clearTimeout(timer);
      if (!graceful) {
        logger.warn({ graceMs }, "calls still running after the grace period: cancelling them");
        server.forceShutdown();
      }
      await unlisten();
      return graceful;
    },
    async close() {
      stopMonitoring();
      await unlisten();
    },
  };
}

export function setServing(health: HealthState, serving: boolean): void {
  for (const service of HEALTH_SERVICE_NAMES) health.setStatus(serving ? "healthy" : "unhealthy", service);
}
