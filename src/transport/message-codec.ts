// How each method's messages become bytes and back. Requests of ts-proto
// types are read as proto3 requires: a `string` field must hold valid UTF-8.
// ts-proto's generated decoders read strings leniently (invalid bytes become
// U+FFFD), which would store something the client never sent; here they read
// through a reader that refuses them, naming the field. A request that cannot
// be read at all is refused too; neither reaches a handler (method-adapter.ts).
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { InvalidMessageError } from "../shared/invalid-message";

export type Decoded =
  { readonly ok: true; readonly message: unknown } | { readonly ok: false; readonly error: InvalidMessageError };

export interface MethodCodec {
  /** `index`: the message's position in the request stream, for the error. */
  decodeRequest(bytes: Uint8Array, index: number): Decoded;
  encodeResponse(message: unknown): Uint8Array;
}

/** A ts-proto message type. */
export interface TsProtoMessageType {
  encode(message: unknown): { finish(): Uint8Array };
  decode(input: BinaryReader | Uint8Array): unknown;
  fromPartial?(object: unknown): unknown;
}

/** Refuses what is not UTF-8, and keeps a leading U+FEFF as the text it is. */
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

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
    const readUint32 = this.uint32;
    this.uint32 = () => (this.lastTag = readUint32.call(this));
  }

  override string(): string {
    const fieldNumber = this.lastTag >>> 3;
    // A length past the end is a malformed message, not a bad string: bytes() throws for it.
    const bytes = this.bytes();
    try {
      return STRICT_UTF8.decode(bytes);
    } catch {
      throw new InvalidUtf8(fieldNumber);
    }
  }
}

/** The codec of a method with ts-proto message types; `fieldNames` names the request's fields by number. */
export function tsProtoCodec(
  requestType: TsProtoMessageType,
  responseType: TsProtoMessageType,
  fieldNames: ReadonlyMap<number, string>,
): MethodCodec {
  // A message a handler built may leave fields out: fromPartial fills in their defaults, as nice-grpc does.
  const complete = responseType.fromPartial?.bind(responseType) ?? ((message: unknown) => message);
  return {
    decodeRequest(bytes, index) {
      try {
        return { ok: true, message: requestType.decode(new StrictUtf8Reader(bytes)) };
      } catch (error) {
        if (error instanceof InvalidUtf8) {
          const field = fieldNames.get(error.fieldNumber) ?? `field ${error.fieldNumber}`;
          return { ok: false, error: new InvalidMessageError(field, "is not valid UTF-8", index) };
        }
        return { ok: false, error: unreadable(index) };
      }
    },
    encodeResponse: (message) => responseType.encode(complete(message)).finish(),
  };
}

/** The codec of a method whose definition brings its own (de)serializers (grpc-js style, e.g. reflection's). */
export function serializerCodec(
  deserialize: (bytes: Buffer) => unknown,
  serialize: (message: unknown) => Uint8Array,
): MethodCodec {
  return {
    decodeRequest(bytes, index) {
      try {
        return { ok: true, message: deserialize(asBuffer(bytes)) };
      } catch {
        return { ok: false, error: unreadable(index) };
      }
    },
    encodeResponse: serialize,
  };
}

function unreadable(index: number): InvalidMessageError {
  return new InvalidMessageError(undefined, "the request message is not valid protobuf", index);
}

export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
