// Page tokens continue exactly the listing they were issued for: the same
// filter, signed by the same secret, spelled exactly as they were written.
import { InvalidArgumentError } from "../../src/shared/errors";
import { createPageTokenCodec } from "../../src/services/page-token";

const codec = createPageTokenCodec("a-secret-of-the-service");
const position = { createdAt: new Date("2026-01-02T03:04:05.678Z"), id: "0b8e9a1c-1d2e-4f3a-8b4c-5d6e7f8a9b0c" };
const kitchen = { category: "kitchen" };
const token = codec.encode(position, kitchen);

function refusal(attempt: () => unknown): string {
  try {
    attempt();
  } catch (error) {
    if (error instanceof InvalidArgumentError) return `${error.field}: ${error.reason}: ${error.description}`;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("page tokens", () => {
  test("decode what they encode, for the same filter", () => {
    expect(codec.decode(token, kitchen)).toEqual(position);
    expect(codec.decode(codec.encode(position, { category: undefined }), { category: undefined })).toEqual(position);
  });

  test.each([
    ["another category", { category: "garden" }],
    ["no category", { category: undefined }],
  ])("refuse a token replayed with %s", (_, filter) => {
    expect(refusal(() => codec.decode(token, filter))).toBe(
      "page_token: INVALID_PAGE_TOKEN: was issued for another filter; send the same category as the first page",
    );
  });

  const [version, body = "", signature = ""] = token.split(".");
  test.each([
    ["empty", ""],
    ["garbage", "not-a-token"],
    ["another version", `v2.${body}.${signature}`],
    ["a changed body", `${version}.${body.slice(0, -1)}${body.endsWith("A") ? "B" : "A"}.${signature}`],
    ["a byte appended", `${token}A`],
    ["padding added", `${token}=`],
    ["a truncated signature", token.slice(0, -1)],
    ["another secret's signature", createPageTokenCodec("another-secret").encode(position, kitchen)],
    ["whitespace around it", ` ${token} `],
  ])("refuse %s", (_, tampered) => {
    expect(refusal(() => codec.decode(tampered, kitchen))).toBe(
      "page_token: INVALID_PAGE_TOKEN: is not a page token issued by this service",
    );
  });
});
