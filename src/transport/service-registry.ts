// The methods the transport serves: each service definition (ts-proto's, or
// grpc-js style for services that ship one, like reflection) normalized to
// one shape, with its codec and its middleware chain ending in the
// implementation, built once when the service is added.
import type { CallContext, MethodDescriptor, ServerMiddleware } from "nice-grpc-common";
import type { MethodInfo } from "./call-scope";
import { serializerCodec, tsProtoCodec, type MethodCodec, type TsProtoMessageType } from "./message-codec";

/** One call's chain: an async generator per call, as nice-grpc's middleware expects of `next`. */
export type CallChain = (request: unknown, context: CallContext) => AsyncGenerator<unknown, unknown, undefined>;

export interface RegisteredMethod extends MethodInfo {
  readonly descriptor: MethodDescriptor;
  readonly codec: MethodCodec;
  /** The middleware chain ending in the implementation. */
  readonly chain: CallChain;
}

interface TsProtoMethodDefinition {
  readonly name: string;
  readonly requestType: TsProtoMessageType;
  readonly responseType: TsProtoMessageType;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly options?: MethodDescriptor["options"];
}

interface TsProtoServiceDefinition {
  readonly fullName: string;
  readonly methods: Readonly<Record<string, TsProtoMethodDefinition>>;
}

interface GrpcJsMethodDefinition {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  requestDeserialize(bytes: Buffer): unknown;
  responseSerialize(message: unknown): Uint8Array;
}

/** A ts-proto service definition or a grpc-js one. */
export type AnyServiceDefinition = TsProtoServiceDefinition | Readonly<Record<string, GrpcJsMethodDefinition>>;

type Implementation = (...args: never[]) => unknown;

interface NormalizedMethod {
  readonly key: string;
  readonly descriptor: MethodDescriptor;
  readonly codec: MethodCodec;
}

export class ServiceRegistry {
  private readonly methods = new Map<string, RegisteredMethod>();

  /** `requestFields`: each method's request field names by number, to name a field a request could not be read for. */
  constructor(private readonly requestFields: ReadonlyMap<string, ReadonlyMap<number, string>>) {}

  get(path: string): RegisteredMethod | undefined {
    return this.methods.get(path);
  }

  all(): readonly RegisteredMethod[] {
    return [...this.methods.values()];
  }

  add(
    definition: AnyServiceDefinition,
    implementation: object,
    middleware: ServerMiddleware<unknown, unknown> | undefined,
  ): void {
    for (const method of this.normalize(definition)) {
      const implement = (implementation as Record<string, Implementation | undefined>)[method.key];
      if (implement === undefined) throw new Error(`no implementation of ${method.descriptor.path}`);
      if (this.methods.has(method.descriptor.path)) throw new Error(`${method.descriptor.path} is served twice`);
      const { path, requestStream, responseStream } = method.descriptor;
      this.methods.set(path, {
        path,
        requestStream,
        responseStream,
        descriptor: method.descriptor,
        codec: method.codec,
        chain: chainOf(method.descriptor, implement.bind<Implementation>(implementation), middleware),
      });
    }
  }

  private normalize(definition: AnyServiceDefinition): NormalizedMethod[] {
    if (isTsProto(definition)) {
      return Object.entries(definition.methods).map(([key, method]) => {
        const path = `/${definition.fullName}/${method.name}`;
        return {
          key,
          descriptor: {
            path,
            requestStream: method.requestStream,
            responseStream: method.responseStream,
            options: { idempotencyLevel: method.options?.idempotencyLevel },
          },
          codec: tsProtoCodec(method.requestType, method.responseType, this.requestFields.get(path) ?? new Map()),
        };
      });
    }
    return Object.entries(definition).map(([key, method]) => ({
      key,
      descriptor: {
        path: method.path,
        requestStream: method.requestStream,
        responseStream: method.responseStream,
        options: {},
      },
      codec: serializerCodec(
        (bytes) => method.requestDeserialize(bytes),
        (message) => method.responseSerialize(message),
      ),
    }));
  }
}

function isTsProto(definition: AnyServiceDefinition): definition is TsProtoServiceDefinition {
  return typeof (definition as { fullName?: unknown }).fullName === "string" && "methods" in definition;
}

/** The method's middleware chain (if any) ending in its implementation. */
function chainOf(
  method: MethodDescriptor,
  implement: Implementation,
  middleware: ServerMiddleware<unknown, unknown> | undefined,
): CallChain {
  const last = lastStep(method, implement);
  if (middleware === undefined) return last;
  // nice-grpc types `next` and `request` by the literal call kind; this serves every kind.
  type MiddlewareCall = Parameters<typeof middleware<unknown, unknown>>[0];
  return (request, context) =>
    middleware<unknown, unknown>(
      {
        method,
        requestStream: method.requestStream,
        request,
        responseStream: method.responseStream,
        next: last,
      } as MiddlewareCall,
      context,
    );
}

/** The implementation as the chain's last step: an async generator, as nice-grpc's middleware expects of `next`. */
function lastStep(method: MethodDescriptor, implement: Implementation): CallChain {
  const run = implement as unknown as (request: unknown, context: CallContext) => unknown;
  const check = (request: unknown): void => {
    if (isAsyncIterable(request) !== method.requestStream)
      throw new Error(
        `A middleware passed ${method.requestStream ? "a single message" : "a request stream"} to next() of ${method.path}`,
      );
  };
  if (!method.responseStream) {
    // eslint-disable-next-line require-yield
    return async function* answer(request, context) {
      check(request);
      return await run(request, context);
    };
  }
  return (request, context) => {
    check(request);
    const result = run(request, context) as AsyncIterable<unknown>;
    // A handler written as an async generator is the step itself: one generator less for every message to resume.
    return isAsyncGenerator(result) ? result : fromIterable(result);
  };
}

async function* fromIterable(items: AsyncIterable<unknown>): AsyncGenerator<unknown, undefined, undefined> {
  yield* items;
  return undefined;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value != null && typeof value === "object" && Symbol.asyncIterator in value;
}

function isAsyncGenerator(value: unknown): value is AsyncGenerator<unknown, unknown, undefined> {
  return (
    isAsyncIterable(value) &&
    typeof (value as { next?: unknown }).next === "function" &&
    typeof (value as { return?: unknown }).return === "function" &&
    typeof (value as { throw?: unknown }).throw === "function"
  );
}
