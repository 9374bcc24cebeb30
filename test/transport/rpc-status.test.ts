// google.rpc.Status, encoded by hand, reads back as the generated decoder of
// nice-grpc-error-details reads it, and the other way round.
import { BadRequest, ErrorInfo } from "nice-grpc-error-details";
import { decodeRpcStatus, encodeRpcStatus } from "../../src/transport/rpc-status";

describe("google.rpc.Status", () => {
  const details = [
    {
      typeUrl: "type.googleapis.com/google.rpc.ErrorInfo",
      value: ErrorInfo.encode(ErrorInfo.fromPartial({ reason: "R", domain: "d" })).finish(),
    },
    {
      typeUrl: "type.googleapis.com/google.rpc.BadRequest",
      value: BadRequest.encode(
        BadRequest.fromPartial({ fieldViolations: [{ field: "name", description: "must not be empty" }] }),
      ).finish(),
    },
  ];

  test.each([
    { code: 3, message: "name: must not be empty", details },
    { code: 0, message: "", details: [] },
    { code: 14, message: "ünïcode", details: details.slice(0, 1) },
  ])("round-trips code $code", (status) => {
    const decoded = decodeRpcStatus(encodeRpcStatus(status));
    expect(decoded.code).toBe(status.code);
    expect(decoded.message).toBe(status.message);
    expect(decoded.details.map((detail) => [detail.typeUrl, Buffer.from(detail.value)])).toEqual(
      status.details.map((detail) => [detail.typeUrl, Buffer.from(detail.value)]),
    );
  });

  test("skips fields it does not know", () => {
    const known = encodeRpcStatus({ code: 5, message: "x", details: [] });
    const withUnknown = Buffer.concat([Buffer.from([0x20, 0x07]), known]); // field 4, varint 7
    expect(decodeRpcStatus(withUnknown)).toMatchObject({ code: 5, message: "x" });
  });
});
