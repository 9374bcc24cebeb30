// gRPC server reflection, served from the descriptor set buf generates
// (gen/descriptor_set.ts), so grpcurl and `buf curl` see exactly the contract
// the stubs came from. nice-grpc-server-reflection implements v1; older
// grpcurl builds only speak v1alpha, whose messages are the same bytes under
// another package name, so the same implementation answers there too.
import type { ServiceImplementation } from "nice-grpc";
import { ServerReflection, ServerReflectionService } from "nice-grpc-server-reflection";

export const ServerReflectionV1AlphaService = {
  serverReflectionInfo: {
    ...ServerReflectionService.serverReflectionInfo,
    path: "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
  },
} as const;

/** Reflection over every service named, from a FileDescriptorSet that holds their files. */
export function createReflection(
  descriptors: Uint8Array,
  serviceNames: readonly string[],
): ServiceImplementation<typeof ServerReflectionService> {
  return ServerReflection(descriptors, serviceNames);
}
