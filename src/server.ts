// Builds the gRPC server: ProductService behind its middleware chain, health
// and reflection. It does not listen; the caller picks the address, so tests
// run it on port 0 and main.ts on the configured one.
import type { ChannelOptions } from "@grpc/grpc-js";
import { createServer as createGrpcServer, type Server } from "nice-grpc";
import { HealthDefinition, HealthServiceImpl, HealthState } from "nice-grpc-server-health";
import { ServerReflection, ServerReflectionService } from "nice-grpc-server-reflection";
import { descriptorSet } from "../gen/descriptor_set";
import { ProductServiceDefinition } from "../gen/product/v1/product";
import type { DatabaseHandle } from "./db/client";
import type { Logger } from "./logger";
import { createErrorsMiddleware } from "./middleware/errors";
import { REQUIRED_SCOPES } from "./auth/scopes";
import type { TokenVerifier } from "./auth/token-verifier";
import { createAuthMiddleware } from "./middleware/auth";
import { createDeadlineMiddleware } from "./middleware/deadline";
import { createLoggingMiddleware } from "./middleware/logging";
import { requestIdMiddleware } from "./middleware/request-id";
import { listenForPriceChanges } from "./repos/price-changes";
import { createProductRepo } from "./repos/product-repo";
import { readServiceSecret } from "./repos/secret-repo";
import { createPageTokenCodec } from "./services/page-token";
import { createProductService, type ProductServiceLimits } from "./services/product-service";
import { createPriceWatchHub, type PriceWatchHub } from "./services/price-watch-hub";
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
  /** Serve gRPC reflection (grpcurl, buf curl). */
  readonly reflection: boolean;
}

export interface ProductServer {
  readonly server: Server;
  /** Health status per service, watched by grpc.health.v1 clients. */
  readonly health: HealthState;
  readonly priceWatch: PriceWatchHub;
  /** Stops listening for price changes; call after the server has shut down. */
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
  // The order of the chain is fixed here and only here: the request id
  // first, so every later step can log it; errors inside logging, so the
  // logged code is the one the client gets; the deadline before auth, so a
  // slow key fetch is bounded too. Health and reflection need no token.
  server
    .with(requestIdMiddleware)
    .with(createLoggingMiddleware(logger))
    .with(createErrorsMiddleware(logger))
    .with(createDeadlineMiddleware({ ...deps.deadlines, longLived: LONG_LIVED_METHODS }))
    .with(createAuthMiddleware({ verifier: deps.verifier, requiredScopes: REQUIRED_SCOPES }))
    .add(ProductServiceDefinition, productService);

  const health = HealthState();
  // NOT_SERVING until the caller says otherwise: a probe must not route
  // traffic to a server that is not ready.
  setServing(health, false);
  server.add(HealthDefinition, HealthServiceImpl(health));
  if (deps.reflection) {
    server.add(ServerReflectionService, ServerReflection(descriptorSet, [PRODUCT_SERVICE_NAME]));
  }

  return { server, health, priceWatch, close: unlisten };
}

export function setServing(health: HealthState, serving: boolean): void {
  for (const service of HEALTH_SERVICE_NAMES) health.setStatus(serving ? "healthy" : "unhealthy", service);
}
