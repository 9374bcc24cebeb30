// The JSON form of a method's messages, for the Connect protocol's
// application/json: proto3's canonical JSON mapping, read strictly (an
// unknown field, a value of the wrong type, or a string that is not valid
// Unicode is refused naming the field), from the same descriptors that
// reflection serves. JSON is turned into the binary encoding and back at the
// edge, so a JSON call runs exactly as a binary one does.
import { createFileRegistry, fromBinary, fromJson, toBinary, toJsonString, type DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { InvalidMessageError } from "../shared/invalid-message";

export interface MethodJson {
  /** The request's binary encoding; throws InvalidMessageError for JSON that is not a valid request. */
  requestFromJson(text: string): Uint8Array;
  responseToJson(bytes: Uint8Array): string;
}

export interface JsonCodecs {
  /** The JSON codec of a method, by path; undefined for a method the descriptors do not describe. */
  of(path: string): MethodJson | undefined;
}

export function createJsonCodecs(descriptorSet: Uint8Array): JsonCodecs {
  let methods: Map<string, MethodJson> | undefined;
  const build = (): Map<string, MethodJson> => {
    const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, descriptorSet));
    const built = new Map<string, MethodJson>();
    for (const file of registry.files) {
      for (const service of file.services) {
        for (const method of service.methods) {
          built.set(`/${service.typeName}/${method.name}`, methodJson(method.input, method.output));
        }
      }
    }
    return built;
  };
  return {
    // Built on the first JSON call: a server nobody calls with JSON pays nothing for it.
    of: (path) => (methods ??= build()).get(path),
  };
}

function methodJson(input: DescMessage, output: DescMessage): MethodJson {
  return {
    requestFromJson(text) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new InvalidMessageError(undefined, "the request body is not valid JSON", 0);
      }
      const badText = illFormedString(value, "");
      if (badText !== undefined) throw new InvalidMessageError(badText || undefined, "is not valid Unicode", 0);
      try {
        return toBinary(input, fromJson(input, value as Parameters<typeof fromJson>[1]));
      } catch (error) {
        throw jsonRefusal(input, error instanceof Error ? error.message : String(error));
      }
    },
    responseToJson: (bytes) => toJsonString(output, fromBinary(output, bytes)),
  };
}

/** A surrogate without its pair: a JavaScript string can hold one, UTF-8 cannot. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The path of the first string (key or value) holding a lone surrogate,
 * which UTF-8 cannot carry ("" for the top level); undefined when there is none.
 */
function illFormedString(value: unknown, path: string): string | undefined {
  if (typeof value === "string") return LONE_SURROGATE.test(value) ? path : undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = illFormedString(item, `${path}[${index}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const at = path === "" ? key : `${path}.${key}`;
      if (LONE_SURROGATE.test(key)) return at;
      const found = illFormedString(item, at);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** What protobuf-es's JSON reader said, as the field it names and what is wrong with it. */
function jsonRefusal(type: DescMessage, reason: string): InvalidMessageError {
  const unknown = /key "([^"]+)" is unknown/.exec(reason);
  if (unknown !== null) return new InvalidMessageError(unknown[1], `is not a field of ${type.typeName}`, 0);
  const field = /decode field [\w.]+\.(\w+) from JSON: (.*)$/.exec(reason);
  if (field !== null) return new InvalidMessageError(field[1], field[2] as string, 0);
  return new InvalidMessageError(undefined, `the request must be a JSON object of ${type.typeName}`, 0);
}
