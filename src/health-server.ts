// A second gRPC server that answers grpc.health.v1 only, in plaintext, on
// HEALTH_PORT. The kubelet's gRPC probe cannot speak TLS, so a pod whose main
// port serves TLS points its probes here. It reports the same status as the
// main port's health service (one HealthState), and says nothing else: no
// ProductService, no reflection, no token needed or accepted.
import { ServerCredentials } from "@grpc/grpc-js";
import { HealthDefinition, HealthServiceImpl, type HealthState } from "nice-grpc-server-health";
import { createGrpcServer } from "./transport/grpc-server";

export interface HealthServer {
  readonly port: number;
  close(): void;
}

export async function startHealthServer(health: HealthState, host: string, port: number): Promise<HealthServer> {
  const server = createGrpcServer({});
  server.add(HealthDefinition, HealthServiceImpl(health));
  const bound = await server.listen(`${host}:${port}`, ServerCredentials.createInsecure());
  return {
    port: bound,
    close: () => server.destroySessions(),
  };
}
