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

interface MessageBatch<Message> {
  readonly [BATCH]: readonly Message[];
}

/**
 * The messages as one item for a server-streaming handler to yield. Typed as
 * one message so that the generated service types accept it; only the
 * transport's streaming handler takes it apart.
 */
export function messageBatch<Message>(messages: readonly Message[]): Message {
  const batch: MessageBatch<Message> = { [BATCH]: messages };
  return batch as unknown as Message;
}

/** The messages of a batch, or undefined when `value` is a single message. */
export function messagesOf(value: unknown): readonly unknown[] | undefined {
  return typeof value === "object" && value !== null && BATCH in value
    ? (value as MessageBatch<unknown>)[BATCH]
    : undefined;
}
