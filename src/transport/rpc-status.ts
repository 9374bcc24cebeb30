// google.rpc.Status, the message grpc-status-details-bin carries: its code,
// message and details (google.protobuf.Any), encoded by hand with the
// protobuf runtime the generated code uses.
//   message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
//   message Any { string type_url = 1; bytes value = 2; }
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { AnyDetail } from "../shared/status-details";

export interface RpcStatus {
  readonly code: number;
  readonly message: string;
  readonly details: readonly AnyDetail[];
}

export function encodeRpcStatus(status: RpcStatus): Uint8Array {
  const writer = new BinaryWriter();
  if (status.code !== 0) writer.tag(1, WireType.Varint).int32(status.code);
  if (status.message !== "") writer.tag(2, WireType.LengthDelimited).string(status.message);
  for (const detail of status.details) {
    writer.tag(3, WireType.LengthDelimited).fork();
    writer.tag(1, WireType.LengthDelimited).string(detail.typeUrl);
    writer.tag(2, WireType.LengthDelimited).bytes(detail.value);
    writer.join();
  }
  return writer.finish();
}

export function decodeRpcStatus(bytes: Uint8Array): RpcStatus {
  const reader = new BinaryReader(bytes);
  let code = 0;
  let message = "";
  const details: AnyDetail[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.Varint) code = reader.int32();
    else if (field === 2 && wireType === WireType.LengthDelimited) message = reader.string();
    else if (field === 3 && wireType === WireType.LengthDelimited) details.push(decodeAny(reader.bytes()));
    else reader.skip(wireType);
  }
  return { code, message, details };
}

function decodeAny(bytes: Uint8Array): AnyDetail {
  const reader = new BinaryReader(bytes);
  let typeUrl = "";
  let value: Uint8Array = new Uint8Array(0);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) typeUrl = reader.string();
    else if (field === 2 && wireType === WireType.LengthDelimited) value = reader.bytes();
    else reader.skip(wireType);
  }
  return { typeUrl, value };
}
