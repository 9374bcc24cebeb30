// grpc-timeout is read whole, as the protocol defines it: 1 to 8 digits and
// one unit, nothing else; any other text is malformed, however close.
import { parseGrpcTimeout } from "../../src/transport/grpc-timeout";

describe("parseGrpcTimeout", () => {
  test.each([
    ["1S", 1_000],
    ["100m", 100],
    ["99999999H", 99_999_999 * 3_600_000],
    ["720H", 720 * 3_600_000],
    ["2M", 120_000],
    ["500u", 0.5],
    ["1500000n", 1.5],
    ["00000001S", 1_000],
  ])("%s is %d ms", (header, ms) => {
    expect(parseGrpcTimeout(header)).toEqual({ kind: "timeout", ms });
  });

  test.each(["", "S", "1", "-1S", "1.5S", "999999999S", "1s", "1SS", " 1S", "1S ", "1 S", "1Y", "１S"])(
    "%j is malformed",
    (header) => {
      expect(parseGrpcTimeout(header)).toEqual({ kind: "malformed" });
    },
  );

  test("absent is absent; a repeated header is malformed unless it is one value", () => {
    expect(parseGrpcTimeout(undefined)).toEqual({ kind: "absent" });
    expect(parseGrpcTimeout(["2S"])).toEqual({ kind: "timeout", ms: 2_000 });
    expect(parseGrpcTimeout(["1S", "2S"])).toEqual({ kind: "malformed" });
  });
});
