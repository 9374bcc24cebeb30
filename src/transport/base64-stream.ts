// Base64 text that arrives in pieces, as gRPC-Web's text mode sends it: each
// piece may end in padding (a client base64-encodes what it flushes), so the
// text is decoded a padded group at a time, whatever its chunks.

const BASE64 = /^[A-Za-z0-9+/=]*$/;

export class InvalidBase64 extends Error {
  constructor() {
    super("the request body is not base64");
  }
}

export class Base64Stream {
  /** Characters of a group of four not yet complete. */
  private rest = "";

  /** The bytes `text` completes; throws InvalidBase64 for a character base64 does not have. */
  push(text: string): Buffer {
    const all = this.rest + text.replace(/\s+/g, "");
    if (!BASE64.test(all)) throw new InvalidBase64();
    const whole = all.length - (all.length % 4);
    this.rest = all.slice(whole);
    const parts: Buffer[] = [];
    let start = 0;
    for (let group = 0; group < whole; group += 4) {
      // Node's decoder stops at padding: each padded piece is decoded on its own.
      if (all[group + 3] === "=") {
        parts.push(Buffer.from(all.slice(start, group + 4), "base64"));
        start = group + 4;
      }
    }
    if (start < whole) parts.push(Buffer.from(all.slice(start, whole), "base64"));
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  /** True when the text ended inside a group of four. */
  get incomplete(): boolean {
    return this.rest.length > 0;
  }
}
