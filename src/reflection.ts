// gRPC server reflection, served from the descriptor set buf generates
// (gen/descriptor_set.ts), so grpcurl and `buf curl` see exactly the contract
// the stubs came from. nice-grpc-server-reflection implements v1; older
// grpcurl builds only speak v1alpha, whose messages are the same bytes under
// another package name, so the same implementation answers there too.
import type { ServiceImplementation } from "nice-grpc";
import { ServerReflection, ServerReflectionService } from "nice-grpc-server-reflection";
import { descriptorSet } from "../gen/descriptor_set";
import { healthDescriptorSet } from "./health-descriptor";

export const ServerReflectionV1AlphaService = {
  serverReflectionInfo: {
    ...ServerReflectionService.serverReflectionInfo,
    path: "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
  },
} as const;

/**
 * Reflection over every service named. Two encoded FileDescriptorSets
 * concatenated are one set holding the files of both (a repeated field
 * merges), so the health protocol's file joins the generated ones.
 */
export function createReflection(
  serviceNames: readonly string[],
): ServiceImplementation<typeof ServerReflectionService> {
  return ServerReflection(Buffer.concat([descriptorSet, healthDescriptorSet]), serviceNames);
}
