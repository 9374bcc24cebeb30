// Builds the gRPC server: services and their middleware chain, health and
// reflection. It does not listen; the caller picks the address, so tests run
// it on port 0 and main.ts on the configured one.
import { createServer as createGrpcServer, type Server } from "nice-grpc";
import { HealthDefinition, HealthServiceImpl, HealthState } from "nice-grpc-server-health";
import { ServerReflection, ServerReflectionService } from "nice-grpc-server-reflection";
import { descriptorSet } from "../gen/descriptor_set";
import { ProductServiceDefinition } from "../gen/product/v1/product";

/** The fully qualified names health reports on: the whole server ("") and each service. */
export const PRODUCT_SERVICE_NAME = ProductServiceDefinition.fullName;
export const HEALTH_SERVICE_NAMES = ["", PRODUCT_SERVICE_NAME] as const;

export interface ServerDeps {
  /** Serve gRPC reflection (grpcurl, buf curl). */
  readonly reflection: boolean;
}

export interface ProductServer {
  readonly server: Server;
  /** Health status per service, watched by grpc.health.v1 clients. */
  readonly health: HealthState;
}

export function createServer(deps: ServerDeps): ProductServer {
  const server = createGrpcServer();
  const health = HealthState();
  // NOT_SERVING until the caller says otherwise: a probe must not route
  // traffic to a server whose database is not ready.
  setServing(health, false);
  server.add(HealthDefinition, HealthServiceImpl(health));
  if (deps.reflection) {
    server.add(ServerReflectionService, ServerReflection(descriptorSet, [PRODUCT_SERVICE_NAME]));
  }
  return { server, health };
}

export function setServing(health: HealthState, serving: boolean): void {
  for (const service of HEALTH_SERVICE_NAMES) health.setStatus(serving ? "healthy" : "unhealthy", service);
}
