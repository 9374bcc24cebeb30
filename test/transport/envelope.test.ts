// Length-prefixed messages are cut out of a byte stream however it arrives:
// whole, in several messages per chunk, or a message split across chunks.
import { envelope, EnvelopeReader, EnvelopeTooLarge, FLAG_COMPRESSED } from "../../src/transport/envelope";

const bytes = (...values: number[]) => Buffer.from(values);

describe("envelope", () => {
  test("prefixes a message with its flags and big-endian length", () => {
    expect(envelope(bytes(1, 2, 3))).toEqual(bytes(0, 0, 0, 0, 3, 1, 2, 3));
    expect(envelope(bytes(), FLAG_COMPRESSED)).toEqual(bytes(1, 0, 0, 0, 0));
  });
});

describe("EnvelopeReader", () => {
  const stream = Buffer.concat([
    envelope(bytes(1)),
    envelope(bytes()),
    envelope(Buffer.alloc(300, 7), FLAG_COMPRESSED),
  ]);

  test.each([1, 2, 3, 5, 7, 64, stream.length])("reads the same messages from chunks of %d bytes", (size) => {
    const reader = new EnvelopeReader(1_000);
    const read = [];
    for (let offset = 0; offset < stream.length; offset += size)
      read.push(...reader.push(stream.subarray(offset, offset + size)));
    expect(read.map(({ flags, data }) => [flags, data.length, data[0]])).toEqual([
      [0, 1, 1],
      [0, 0, undefined],
      [FLAG_COMPRESSED, 300, 7],
    ]);
    expect(reader.incomplete).toBe(false);
  });

  test("says when the stream stopped inside a message", () => {
    const reader = new EnvelopeReader(1_000);
    expect(reader.push(envelope(bytes(1, 2, 3)).subarray(0, 6))).toEqual([]);
    expect(reader.incomplete).toBe(true);
  });

  test("refuses a message announced over the limit as soon as its prefix arrives", () => {
    const reader = new EnvelopeReader(10);
    expect(() => reader.push(bytes(0, 0, 0, 0, 11))).toThrow(EnvelopeTooLarge);
    expect(() => new EnvelopeReader(10).push(bytes(0, 0xff, 0xff, 0xff, 0xff))).toThrow("exceeds the 10-byte limit");
  });
});
