// Responses a handler has already encoded. A handler that needs a response's
// encoding before it answers (BatchCreateProducts checks its size and stores
// it with an idempotency key) records it here, and the transport sends those
// bytes instead of copying the message (ts-proto's fromPartial) and encoding
// it again: for a 10,000-product batch, two passes over every product saved,
// and the size checked is the size sent.
const encodings = new WeakMap<object, Uint8Array>();

/** Records `bytes` as the encoding of `message`; returns the message. */
export function withEncoding<Message extends object>(message: Message, bytes: Uint8Array): Message {
  encodings.set(message, bytes);
  return message;
}

/** The recorded encoding of `message`, if a handler recorded one. */
export function encodingOf(message: unknown): Uint8Array | undefined {
  return typeof message === "object" && message !== null ? encodings.get(message) : undefined;
}
