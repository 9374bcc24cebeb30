// gRPC-Web's text mode: base64 that arrives in pieces of any size, each
// piece possibly padded on its own, decodes to the bytes that were sent.
import { Base64Stream, InvalidBase64 } from "../../src/transport/base64-stream";

const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 253, 254, 255, 10]);

describe("Base64Stream", () => {
  const padded = [bytes.subarray(0, 4), bytes.subarray(4, 5), bytes.subarray(5)]
    .map((part) => part.toString("base64"))
    .join("");

  test.each([1, 2, 3, 4, 5, 7, padded.length])(
    "decodes pieces each padded on their own, read %d characters at a time",
    (size) => {
      const stream = new Base64Stream();
      const read: Buffer[] = [];
      for (let offset = 0; offset < padded.length; offset += size)
        read.push(stream.push(padded.slice(offset, offset + size)));
      expect(Buffer.concat(read)).toEqual(bytes);
      expect(stream.incomplete).toBe(false);
    },
  );

  test("ignores line breaks, says when it ended inside a group, and refuses what is not base64", () => {
    const stream = new Base64Stream();
    expect(stream.push("AAEC\r\n+vv8")).toEqual(Buffer.from([0, 1, 2, 250, 251, 252]));
    expect(stream.push("/f")).toEqual(Buffer.alloc(0));
    expect(stream.incomplete).toBe(true);
    expect(() => new Base64Stream().push("AA*=")).toThrow(InvalidBase64);
  });
});
