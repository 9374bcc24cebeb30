// What grpc.health.v1 reports, from what the server knows: the server ("")
// serves while it has started and not begun to stop, and its database
// answers; ProductService also needs to be hearing price changes, since
// WatchPrices promises them. NOT_SERVING until the server says it has started:
// a probe must not route traffic to a server that is not ready.
import type { HealthState } from "nice-grpc-server-health";

export interface ServingStatus {
  /** The server is ready (true) or shutting down (false). */
  setStarted(started: boolean): void;
  /** Whether the database answers, as the database health check last found. */
  setDatabaseServing(serving: boolean): void;
  /** Reads the price feed again (it changed). */
  update(): void;
}

export function createServingStatus(
  health: HealthState,
  productServiceName: string,
  hearingPrices: () => boolean,
): ServingStatus {
  let started = false;
  let databaseServing = true;
  const update = (): void => {
    const server = started && databaseServing;
    health.setStatus(server ? "healthy" : "unhealthy", "");
    health.setStatus(server && hearingPrices() ? "healthy" : "unhealthy", productServiceName);
  };
  update();
  return {
    setStarted(now) {
      started = now;
      update();
    },
    setDatabaseServing(serving) {
      databaseServing = serving;
      update();
    },
    update,
  };
}
