// The request metadata as nice-grpc's Metadata presents it, read in place
// from the request's HTTP headers: string values as they came (HTTP joins a
// repeated header with ", "), `-bin` values base64-decoded, one per
// comma-separated part. Headers that belong to the protocol (pseudo-headers,
// content-type, grpc-timeout and the like) are not metadata. The first write
// makes a copy, so the headers stay as they came.
import type { IncomingHttpHeaders } from "node:http2";
import { Metadata, type MetadataValue } from "nice-grpc-common";

export class RequestMetadata implements Metadata {
  private copy: Metadata | undefined;

  /** `hidden`: header names (lower case) that are the protocol's, not the caller's metadata. */
  constructor(
    private readonly headers: IncomingHttpHeaders,
    private readonly hidden: ReadonlySet<string>,
  ) {}

  get<Key extends string>(key: Key): MetadataValue<Key> | undefined {
    return this.getAll(key)[0];
  }

  getAll<Key extends string>(key: Key): MetadataValue<Key>[] {
    if (this.copy !== undefined) return this.copy.getAll(key);
    const name = key.toLowerCase();
    return this.valuesOf(name) as MetadataValue<Key>[];
  }

  has(key: string): boolean {
    if (this.copy !== undefined) return this.copy.has(key);
    return this.valuesOf(key.toLowerCase()).length > 0;
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
    for (const name of Object.keys(this.headers)) {
      const values = this.valuesOf(name);
      if (values.length > 0) yield [name, values];
    }
  }

  private valuesOf(name: string): (string | Uint8Array)[] {
    if (name.startsWith(":") || this.hidden.has(name)) return [];
    const value = this.headers[name];
    if (value === undefined) return [];
    const text = Array.isArray(value) ? value.join(", ") : value;
    if (!name.endsWith("-bin")) return [text];
    return text.split(",").map((part) => Buffer.from(part.trim(), "base64"));
  }

  private writable(): Metadata {
    return (this.copy ??= Metadata(this));
  }
}
