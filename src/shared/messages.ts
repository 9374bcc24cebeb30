// What a handler may hand the transport besides a plain message. Both are
// plain values a handler returns or yields; the transport alone takes them
// apart (src/transport/method-adapter.ts).

/** How a batch's messages are encoded: a ts-proto message type. */
export interface MessageEncoder<Message> {
  encode(message: Message): { finish(): Uint8Array };
}

/**
 * Several messages of a server stream as one item. Each item a streaming
 * handler yields resumes every middleware generator of the chain; a handler
 * that holds a page of messages yields them once, and the transport writes
 * them one by one with the same flow control as single messages. Given
 * their message type (`completeOf`), messages that have every field set (a
 * stored row) are encoded as they are, without the copy the transport makes
 * of a message that may be partial (ts-proto's fromPartial).
 *
 * Middleware that looks at each message (nice-grpc-opentelemetry's message
 * events) sees one item per batch.
 */
export class MessageBatch<Message> {
  constructor(
    readonly messages: readonly Message[],
    readonly completeOf?: MessageEncoder<Message>,
  ) {}
}

/**
 * A response its handler has already encoded (to check its size, or to store
 * it beside an idempotency key): the transport sends these bytes instead of
 * encoding the message again, so the size checked is the size sent.
 */
export class EncodedMessage<Message> {
  constructor(
    readonly message: Message,
    readonly bytes: Uint8Array,
  ) {}
}
