// grpc.health.v1.HealthCheckResponse.ServingStatus, as the health protocol
// numbers it (https://github.com/grpc/grpc/blob/master/doc/health-checking.md),
// typed as the generated enum that nice-grpc-server-health does not export.
import type { HealthDefinition } from "nice-grpc-server-health";

export type ServingStatusValue = ReturnType<HealthDefinition["methods"]["check"]["responseType"]["decode"]>["status"];

export const ServingStatus = {
  UNKNOWN: 0 as ServingStatusValue,
  SERVING: 1 as ServingStatusValue,
  NOT_SERVING: 2 as ServingStatusValue,
  SERVICE_UNKNOWN: 3 as ServingStatusValue,
} as const;
