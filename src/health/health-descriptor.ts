// The descriptor of grpc.health.v1 (the standard health-checking protocol,
// grpc/grpc doc/health-checking.md), so that reflection describes health as
// it describes ProductService: grpcurl and `buf curl` can list, describe and
// call it with no local proto. nice-grpc-server-health implements the
// service but ships no descriptor, so it is written out here, field for
// field as the protocol defines it.
import { create, toBinary } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";

export const HEALTH_SERVICE_FULL_NAME = "grpc.health.v1.Health";

const healthFile = create(FileDescriptorProtoSchema, {
  name: "grpc/health/v1/health.proto",
  package: "grpc.health.v1",
  syntax: "proto3",
  messageType: [
    {
      name: "HealthCheckRequest",
      field: [
        {
          name: "service",
          number: 1,
          label: FieldDescriptorProto_Label.OPTIONAL,
          type: FieldDescriptorProto_Type.STRING,
          jsonName: "service",
        },
      ],
    },
    {
      name: "HealthCheckResponse",
      field: [
        {
          name: "status",
          number: 1,
          label: FieldDescriptorProto_Label.OPTIONAL,
          type: FieldDescriptorProto_Type.ENUM,
          typeName: ".grpc.health.v1.HealthCheckResponse.ServingStatus",
          jsonName: "status",
        },
      ],
      enumType: [
        {
          name: "ServingStatus",
          value: [
            { name: "UNKNOWN", number: 0 },
            { name: "SERVING", number: 1 },
            { name: "NOT_SERVING", number: 2 },
            { name: "SERVICE_UNKNOWN", number: 3 },
          ],
        },
      ],
    },
  ],
  service: [
    {
      name: "Health",
      method: [
        {
          name: "Check",
          inputType: ".grpc.health.v1.HealthCheckRequest",
          outputType: ".grpc.health.v1.HealthCheckResponse",
        },
        {
          name: "Watch",
          inputType: ".grpc.health.v1.HealthCheckRequest",
          outputType: ".grpc.health.v1.HealthCheckResponse",
          serverStreaming: true,
        },
      ],
    },
  ],
});

/** A FileDescriptorSet holding the health protocol's one file. */
export const healthDescriptorSet: Uint8Array = toBinary(
  FileDescriptorSetSchema,
  create(FileDescriptorSetSchema, { file: [healthFile] }),
);
