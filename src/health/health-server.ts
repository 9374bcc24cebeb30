// A second gRPC server that answers grpc.health.v1 only, in plaintext, on
// HEALTH_PORT. The kubelet's gRPC probe cannot speak TLS, so a pod whose main
// port serves TLS points its probes here. It reports the same status as the
// main port's health service (one HealthState), and says nothing else: no
// ProductService, no reflection, no token needed or accepted.
import { HealthDefinition, HealthServiceImpl, type HealthState } from "nice-grpc-server-health";
import { createCallTracker, NO_OBSERVER } from "../transport/call-tracker";
import { createTransportServer } from "../transport/transport-server";

export interface HealthServer {
  readonly port: number;
  close(): void;
}

/** A probe's call gets this long unless it says otherwise; a Watch as long as the probe keeps it. */
const HEALTH_DEADLINES = { defaultMs: 10_000, maxMs: 300_000, longLived: new Set<string>() };

export async function startHealthServer(health: HealthState, host: string, port: number): Promise<HealthServer> {
  const server = createTransportServer({
    deadlines: HEALTH_DEADLINES,
    calls: createCallTracker(),
    observer: NO_OBSERVER,
    onUnexpectedError: () => undefined,
  });
  server.add(HealthDefinition, HealthServiceImpl(health));
  const bound = await server.listen(host, port);
  return {
    port: bound,
    close: () => server.destroy(),
  };
}
