// Length-prefixed messages, as gRPC, gRPC-Web and the Connect protocol's
// streams frame them: one flags byte, a 4-byte big-endian length, the bytes.
// (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md, "Length-Prefixed-Message")

export const HEADER_BYTES = 5;
/** The message is compressed with the call's encoding. */
export const FLAG_COMPRESSED = 0x01;

export interface Envelope {
  readonly flags: number;
  readonly data: Buffer;
}

/** One message with its prefix, in one buffer (one write). */
export function envelope(data: Uint8Array, flags = 0): Buffer {
  const framed = Buffer.allocUnsafe(HEADER_BYTES + data.byteLength);
  framed[0] = flags;
  framed.writeUInt32BE(data.byteLength, 1);
  framed.set(data, HEADER_BYTES);
  return framed;
}

/** A message whose prefix announces more bytes than the limit: refused before they arrive. */
export class EnvelopeTooLarge extends Error {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`a message of ${bytes} bytes exceeds the ${limit}-byte limit`);
  }
}

/**
 * Cuts a byte stream into envelopes as chunks arrive. A chunk that holds
 * whole messages is sliced, not copied; only a message split across chunks
 * is assembled.
 */
export class EnvelopeReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes the pending message needs before it can be cut (its prefix, then all of it). */
  private needed = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** The envelopes completed by `chunk`; throws EnvelopeTooLarge for an announced length over the limit. */
  push(chunk: Buffer): Envelope[] {
    if (this.pendingBytes === 0) return this.cut(chunk);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    // A large message arrives in many chunks: they are joined once, when it is whole.
    if (this.pendingBytes < this.needed) return [];
    const bytes = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return this.cut(bytes);
  }

  /** True when the stream ended in the middle of a message. */
  get incomplete(): boolean {
    return this.pendingBytes > 0;
  }

  private cut(bytes: Buffer): Envelope[] {
    const complete: Envelope[] = [];
    let offset = 0;
    while (bytes.length - offset >= HEADER_BYTES) {
      const length = bytes.readUInt32BE(offset + 1);
      if (length > this.maxMessageBytes) throw new EnvelopeTooLarge(length, this.maxMessageBytes);
      const end = offset + HEADER_BYTES + length;
      if (end > bytes.length) break;
      complete.push({ flags: bytes[offset] as number, data: bytes.subarray(offset + HEADER_BYTES, end) });
      offset = end;
    }
    if (offset < bytes.length) {
      const rest = bytes.subarray(offset);
      this.pending = [rest];
      this.pendingBytes = rest.length;
      this.needed = rest.length >= HEADER_BYTES ? HEADER_BYTES + rest.readUInt32BE(1) : HEADER_BYTES;
    }
    return complete;
  }
}
