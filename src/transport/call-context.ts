// The nice-grpc CallContext that the transport's own handlers (unary-handler.ts,
// server-streaming-handler.ts) give the middleware chain. nice-grpc's adapters
// make theirs with createCallContext, which per call makes an AbortController,
// listens for three events on the grpc-js call, and copies the request
// metadata into a Metadata of its own, validating every value again. Here the
// call already has a call scope (call-scope.ts) with the one signal that
// matters (cancel, deadline, shutdown), grpc-js has validated the metadata,
// and the chain only reads it: so the context takes the scope's signal and
// reads the grpc-js metadata in place, copying it only if a step writes to it.
import type { Metadata as GrpcMetadata, ServerUnaryCall, ServerWritableStream } from "@grpc/grpc-js";
import { Metadata, type CallContext, type MetadataValue } from "nice-grpc-common";
import type { CallScope } from "./call-scope";
import { convertMetadataFromGrpcJs, convertMetadataToGrpcJs } from "./nice-grpc-internals";

export interface ServerCallContext extends CallContext {
  /** The trailer a step set, as grpc-js metadata; undefined when none was set. */
  trailerToSend(): GrpcMetadata | undefined;
}

/** The grpc-js calls of the methods this context is made for. */
export type HandledCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

/**
 * The call's context. `scope` is the call's scope when the server has the
 * call-scope interceptor (every server but the health port's); without one,
 * the signal is the call's own and aborts when the client cancels.
 */
export function createServerCallContext(call: HandledCall, scope: CallScope | undefined): ServerCallContext {
  const header = Metadata();
  const trailer = Metadata();
  let headerSent = false;
  return {
    metadata: new RequestMetadata(call.metadata),
    peer: scope?.peer ?? call.getPeer(),
    header,
    sendHeader() {
      if (headerSent) return;
      headerSent = true;
      if (!isEmpty(header)) call.sendMetadata(convertMetadataToGrpcJs(header));
    },
    trailer,
    trailerToSend: () => (isEmpty(trailer) ? undefined : convertMetadataToGrpcJs(trailer)),
    signal: scope?.signal ?? cancelSignalOf(call),
  };
}

function cancelSignalOf(call: HandledCall): AbortSignal {
  const controller = new AbortController();
  if (call.cancelled) controller.abort();
  else call.once("cancelled", () => controller.abort());
  return controller.signal;
}

function isEmpty(metadata: Metadata): boolean {
  for (const _ of metadata) return false;
  return true;
}

/**
 * The request metadata as nice-grpc presents it (string values of one key
 * joined with ", ", binary values as they came), read from grpc-js's own
 * metadata. The first write makes a copy, as nice-grpc's context always does.
 */
export class RequestMetadata implements Metadata {
  private copy: Metadata | undefined;

  constructor(private readonly received: GrpcMetadata) {}

  get<Key extends string>(key: Key): MetadataValue<Key> | undefined {
    return this.getAll(key)[0];
  }

  getAll<Key extends string>(key: Key): MetadataValue<Key>[] {
    if (this.copy !== undefined) return this.copy.getAll(key);
    const normalized = key.toLowerCase();
    return asNiceGrpcValues(normalized, this.received.get(normalized)) as MetadataValue<Key>[];
  }

  has(key: string): boolean {
    if (this.copy !== undefined) return this.copy.has(key);
    return this.received.get(key.toLowerCase()).length > 0;
  }

  set<Key extends string>(key: Key, value: MetadataValue<Key> | MetadataValue<Key>[]): Metadata {
    this.writable().set(key, value);
    return this;
  }

  append<Key extends string>(key: Key, value: MetadataValue<Key>): Metadata {
    this.writable().append(key, value);
    return this;
  }

  delete(key: string): void {
    this.writable().delete(key);
  }

  *[Symbol.iterator](): IterableIterator<[string, (string | Uint8Array)[]]> {
    if (this.copy !== undefined) {
      yield* this.copy;
      return;
    }
    for (const key of Object.keys(this.received.getMap())) yield [key, this.getAll(key)];
  }

  private writable(): Metadata {
    return (this.copy ??= convertMetadataFromGrpcJs(this.received));
  }
}

function asNiceGrpcValues(key: string, values: readonly (string | Buffer)[]): (string | Uint8Array)[] {
  if (values.length === 0 || key.endsWith("-bin")) return [...values];
  return [values.join(", ")];
}
