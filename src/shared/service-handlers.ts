// The type a service implementation must satisfy for a ts-proto service
// definition: one handler per method, by call kind, as nice-grpc's
// ServiceImplementation, except that a handler may also answer with what the
// transport understands besides plain messages (shared/messages.ts). A
// missing or mistyped method fails to compile.
import type { CallContext } from "nice-grpc-common";
import type { EncodedMessage, MessageBatch } from "./messages";

interface MessageType<Message> {
  decode(input: Uint8Array): Message;
}

/** A method of a ts-proto service definition (outputServices=nice-grpc or generic-definitions). */
export interface TsProtoMethod {
  readonly name: string;
  readonly requestType: MessageType<unknown>;
  readonly requestStream: boolean;
  readonly responseType: MessageType<unknown>;
  readonly responseStream: boolean;
  readonly options: { readonly idempotencyLevel?: "IDEMPOTENT" | "NO_SIDE_EFFECTS" };
}

export interface TsProtoService {
  readonly name: string;
  readonly fullName: string;
  readonly methods: { readonly [key: string]: TsProtoMethod };
}

type Builtin = Date | ((...args: never[]) => unknown) | Uint8Array | string | number | boolean | undefined;

/** A message whose fields may be left out: the transport fills in their defaults. */
export type DeepPartial<T> = T extends Builtin
  ? T
  : T extends readonly (infer U)[]
    ? DeepPartial<U>[]
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

type RequestOf<M extends TsProtoMethod> = M["requestType"] extends MessageType<infer R> ? R : never;
type ResponseOf<M extends TsProtoMethod> = M["responseType"] extends MessageType<infer R> ? R : never;

/** What a unary or client-streaming handler answers with. */
export type Answer<Response> = DeepPartial<Response> | EncodedMessage<Response>;
/** What a server-streaming or bidi handler yields. */
export type StreamItem<Response> = DeepPartial<Response> | MessageBatch<Response>;

export type MethodHandler<M extends TsProtoMethod, Context> = M["requestStream"] extends false
  ? M["responseStream"] extends false
    ? (request: RequestOf<M>, context: Context) => Promise<Answer<ResponseOf<M>>>
    : (request: RequestOf<M>, context: Context) => AsyncIterable<StreamItem<ResponseOf<M>>>
  : M["responseStream"] extends false
    ? (requests: AsyncIterable<RequestOf<M>>, context: Context) => Promise<Answer<ResponseOf<M>>>
    : (requests: AsyncIterable<RequestOf<M>>, context: Context) => AsyncIterable<StreamItem<ResponseOf<M>>>;

export type ServiceHandlers<Service extends TsProtoService, ContextExt = object> = {
  readonly [Key in keyof Service["methods"]]: MethodHandler<Service["methods"][Key], CallContext & ContextExt>;
};
