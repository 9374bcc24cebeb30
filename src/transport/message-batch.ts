// Several response messages that cross the middleware chain as one item.
//
// A server-streaming handler yields its messages one at a time, and each one
// resumes every async generator of the chain (call scope, errors, auth, error
// details, nice-grpc's own): a handful of promise hops per layer per message,
// which costs more than encoding the message. A handler that already holds a
// page of messages (ListProducts reads them a page at a time) yields them as
// one batch instead; the transport's streaming handler
// (server-streaming-handler.ts) writes them to grpc-js one by one, with the
// same flow control, so the client sees the same messages, and the per-message
// interceptors (metrics, logs) still count each one.
//
// Middleware passes a batch through like any message. One that looks at each
// message (nice-grpc-opentelemetry's message events, when tracing is on) sees
// one item per batch.

const BATCH = Symbol("message batch");

/** What a batch's messages are encoded with: a ts-proto message type. */
export interface MessageEncoder<Message> {
  encode(message: Message): { finish(): Uint8Array };
}

interface MessageBatch<Message> {
  readonly [BATCH]: readonly Message[];
  readonly encoder: MessageEncoder<Message> | undefined;
}

/**
 * The messages as one item for a server-streaming handler to yield. Typed as
 * one message so that the generated service types accept it; only the
 * transport's streaming handler takes it apart.
 *
 * Given their message type (`completeOf`), the transport encodes each
 * message with it, unchanged, as it writes it. Only for messages that are
 * complete (every field set, as a stored row is): it skips the copy the
 * transport otherwise makes of each message before encoding it (ts-proto's
 * fromPartial, which fills in the fields a partial message leaves out).
 */
export function messageBatch<Message>(messages: readonly Message[], completeOf?: MessageEncoder<Message>): Message {
  const batch: MessageBatch<Message> = { [BATCH]: messages, encoder: completeOf };
  return batch as unknown as Message;
}

/** A batch taken apart: its messages and, when it has their type, how to encode one. */
export interface BatchContents {
  readonly messages: readonly unknown[];
  readonly encode: ((message: unknown) => Uint8Array) | undefined;
}

/** The contents of a batch, or undefined when `value` is a single message. */
export function batchContents(value: unknown): BatchContents | undefined {
  if (typeof value !== "object" || value === null || !(BATCH in value)) return undefined;
  const batch = value as MessageBatch<unknown>;
  const { encoder } = batch;
  return {
    messages: batch[BATCH],
    encode: encoder === undefined ? undefined : (message) => encoder.encode(message).finish(),
  };
}
