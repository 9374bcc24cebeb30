// ListProducts' page tokens: opaque to clients, bound to the filter they were
// issued for, and signed, so an altered token or one replayed with another
// filter is refused rather than silently listing the wrong rows.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { InvalidArgumentError, Reason } from "../shared/errors";
import type { ListPosition } from "../repos/product-repo";

const VERSION = "v1";
const FIELD = "page_token";
/** v1.<base64url JSON>.<base64url HMAC-SHA256, 43 characters, no padding> */
const TOKEN = /^v1\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;

/** What the listing is filtered by; a token only continues the same filter. */
export interface ListFilter {
  readonly category: string | undefined;
}

export interface PageTokenCodec {
  encode(position: ListPosition, filter: ListFilter): string;
  /** The position to resume after; INVALID_ARGUMENT when the token is not one of ours for this filter. */
  decode(token: string, filter: ListFilter): ListPosition;
}

interface Payload {
  /** created_at, in milliseconds since the epoch (the column's precision). */
  t: number;
  /** id */
  i: string;
  /** fingerprint of the filter */
  f: string;
}

function filterFingerprint(filter: ListFilter): string {
  const key = filter.category === undefined ? "all" : `category:${filter.category}`;
  return createHash("sha256").update(key).digest("base64url").slice(0, 16);
}

export function createPageTokenCodec(secret: string): PageTokenCodec {
  const sign = (body: string) => createHmac("sha256", secret).update(`${VERSION}.${body}`).digest();

  return {
    encode(position, filter) {
      const payload: Payload = { t: position.createdAt.getTime(), i: position.id, f: filterFingerprint(filter) };
      const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
      return `${VERSION}.${body}.${sign(body).toString("base64url")}`;
    },

    decode(token, filter) {
      // Read strictly: exactly the characters encode() writes. Node's base64
      // decoder skips what it does not know and ignores a last character's
      // unused bits, so a token with a byte appended or changed could still
      // decode to a valid one; comparing the signature as text refuses them.
      const match = TOKEN.exec(token);
      if (match === null)
        throw new InvalidArgumentError(FIELD, "is not a page token issued by this service", Reason.INVALID_PAGE_TOKEN);
      const [, body = "", signature = ""] = match;
      const expected = Buffer.from(sign(body).toString("base64url"));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new InvalidArgumentError(FIELD, "is not a page token issued by this service", Reason.INVALID_PAGE_TOKEN);
      }
      const payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Payload;
      if (payload.f !== filterFingerprint(filter)) {
        throw new InvalidArgumentError(
          FIELD,
          "was issued for another filter; send the same category as the first page",
          Reason.INVALID_PAGE_TOKEN,
        );
      }
      return { createdAt: new Date(payload.t), id: payload.i };
    },
  };
}
