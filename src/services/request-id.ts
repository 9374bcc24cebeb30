// The idempotency key of a write request (AIP-155 `request_id`): checked,
// and paired with a digest of the rest of the request, so that a repeat can
// be told from a different request that reuses the key.
import { createHash, type Hash } from "node:crypto";
import { InvalidArgumentError } from "../shared/errors";
import type { IdempotencyKey } from "../repos/idempotency-repo";
import { checkId } from "./validation";

/** The key a request carries: undefined when `request_id` is empty, INVALID_ARGUMENT when it is not a UUID. */
export function checkRequestId(requestId: string, field = "request_id"): string | undefined {
  return requestId === "" ? undefined : checkId(field, requestId);
}

/**
 * Digests a request as its messages, each encoded without its key: the same
 * method and the same messages give the same digest. Each message is
 * length-prefixed, so no two sequences of messages share one.
 */
export class RequestDigest {
  private readonly hash: Hash = createHash("sha256");

  constructor(method: string) {
    this.add(Buffer.from(method));
  }

  add(message: Uint8Array): this {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(message.length);
    this.hash.update(length).update(message);
    return this;
  }

  keyed(requestId: string): IdempotencyKey {
    return { requestId, fingerprint: this.hash.digest() };
  }
}

/** The key of a one-message write, or undefined when it has none. */
export function keyOf(
  method: string,
  requestId: string,
  encodeWithoutKey: () => Uint8Array,
): IdempotencyKey | undefined {
  const id = checkRequestId(requestId);
  return id === undefined ? undefined : new RequestDigest(method).add(encodeWithoutKey()).keyed(id);
}

/** A batch item's key must be empty or the first item's: the first names the batch. */
export function checkBatchItemRequestId(first: string | undefined, requestId: string, index: number): void {
  if (requestId === "" || (first !== undefined && requestId.toLowerCase() === first)) return;
  throw new InvalidArgumentError(
    `items[${index}].request_id`,
    "must be empty or equal the first item's: the first item's request_id names the whole batch",
  );
}
