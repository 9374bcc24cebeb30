// Request messages read as proto3 requires: a `string` field must hold valid
// UTF-8. ts-proto's generated decoders read strings leniently (invalid bytes
// become U+FFFD), which would store something the client never sent; here
// they read through a reader that refuses them. The refusal becomes a
// message of its own (UndecodableMessage) rather than a decoding error, which
// grpc-js would answer with INTERNAL: the handler's chain answers
// INVALID_ARGUMENT naming the field (src/middleware/call-scope.ts, and the
// streaming handlers for each message they read).
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

/** A request message with a string field that is not valid UTF-8. */
export class UndecodableMessage {
  constructor(
    /** The field's name in the proto (snake_case). */
    readonly field: string,
  ) {}
}

class InvalidUtf8 extends Error {
  constructor(readonly fieldNumber: number) {
    super(`field ${fieldNumber} is not valid UTF-8`);
  }
}

/** A reader that refuses invalid UTF-8 and knows which field it was reading. */
class StrictUtf8Reader extends BinaryReader {
  // ts-proto reads each field's tag with uint32() just before its value.
  private lastTag = 0;

  constructor(bytes: Uint8Array) {
    super(bytes);
    // uint32 is an instance property of BinaryReader, not a method: wrap it.
    const readUint32 = this.uint32;
    this.uint32 = () => (this.lastTag = readUint32.call(this));
  }

  override string(): string {
    const fieldNumber = this.lastTag >>> 3;
    try {
      return super.string(true);
    } catch {
      throw new InvalidUtf8(fieldNumber);
    }
  }
}

export interface MessageDecoder {
  decode(input: BinaryReader | Uint8Array): unknown;
}

/** Reads requests of `type`, whose fields are named by `fieldNames` (number → name). */
export function strictDeserializer(
  type: MessageDecoder,
  fieldNames: ReadonlyMap<number, string>,
): (bytes: Uint8Array) => unknown {
  return (bytes) => {
    try {
      return type.decode(new StrictUtf8Reader(bytes));
    } catch (error) {
      if (error instanceof InvalidUtf8)
        return new UndecodableMessage(fieldNames.get(error.fieldNumber) ?? `field ${error.fieldNumber}`);
      throw error;
    }
  };
}

/** For each method path, its request's field names by number, from a FileDescriptorSet. */
export function requestFieldNames(descriptorSet: Uint8Array): ReadonlyMap<string, ReadonlyMap<number, string>> {
  const files = fromBinary(FileDescriptorSetSchema, descriptorSet).file;
  const messages = new Map<string, Map<number, string>>();
  for (const file of files) {
    for (const message of file.messageType) {
      messages.set(
        `.${file.package}.${message.name}`,
        new Map(message.field.map((field) => [field.number, field.name])),
      );
    }
  }
  const methods = new Map<string, ReadonlyMap<number, string>>();
  for (const file of files) {
    for (const service of file.service) {
      for (const method of service.method) {
        methods.set(`/${file.package}.${service.name}/${method.name}`, messages.get(method.inputType) ?? new Map());
      }
    }
  }
  return methods;
}
