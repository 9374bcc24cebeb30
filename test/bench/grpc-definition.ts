// A plain @grpc/grpc-js service definition made from the ts-proto codecs in
// gen/, so the baseline server and the load generator use the same message
// code as the product server, with nothing of nice-grpc in between.
import type { ServiceDefinition } from "@grpc/grpc-js";
import { ProductServiceDefinition } from "../../gen/product/v1/product";

type Codec = {
  encode(message: unknown): { finish(): Uint8Array };
  decode(bytes: Uint8Array): unknown;
  fromPartial(value: unknown): unknown;
};

export const productGrpcDefinition: ServiceDefinition = Object.fromEntries(
  Object.entries(ProductServiceDefinition.methods).map(([key, method]) => {
    const request = method.requestType as unknown as Codec;
    const response = method.responseType as unknown as Codec;
    return [
      key,
      {
        path: `/${ProductServiceDefinition.fullName}/${method.name}`,
        requestStream: method.requestStream,
        responseStream: method.responseStream,
        // Requests are written as object literals: fields they leave out take their defaults.
        requestSerialize: (value: unknown) => Buffer.from(request.encode(request.fromPartial(value)).finish()),
        requestDeserialize: (bytes: Buffer) => request.decode(bytes),
        responseSerialize: (value: unknown) => Buffer.from(response.encode(value).finish()),
        responseDeserialize: (bytes: Buffer) => response.decode(bytes),
        originalName: key,
      },
    ];
  }),
);
