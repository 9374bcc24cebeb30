// What the Connect protocol reads off a request before the call starts: its
// kind and codec, and connect-timeout-ms (at most 10 digits of milliseconds).
import { connectRequestKind, parseConnectTimeout } from "../../src/transport/connect-protocol";

describe("connectRequestKind", () => {
  const none = new URLSearchParams();
  test.each([
    ["POST", "application/json", none, { codec: "json", streaming: false }],
    ["POST", "application/json; charset=utf-8", none, { codec: "json", streaming: false }],
    ["POST", "application/proto", none, { codec: "proto", streaming: false }],
    ["POST", "application/connect+json", none, { codec: "json", streaming: true }],
    ["POST", "application/connect+proto", none, { codec: "proto", streaming: true }],
    ["GET", undefined, new URLSearchParams({ encoding: "json", message: "{}" }), { codec: "json", streaming: false }],
    ["POST", "text/plain", none, undefined],
    ["POST", undefined, none, undefined],
  ])("%s %s", (method, contentType, query, kind) => {
    expect(connectRequestKind(method, contentType, query)).toEqual(kind);
  });
});

describe("parseConnectTimeout", () => {
  test.each([
    [undefined, { kind: "absent" }],
    ["0", { kind: "timeout", ms: 0 }],
    ["1500", { kind: "timeout", ms: 1_500 }],
    ["9999999999", { kind: "timeout", ms: 9_999_999_999 }],
    ["99999999999", { kind: "malformed" }],
    ["1.5", { kind: "malformed" }],
    ["-1", { kind: "malformed" }],
    ["1S", { kind: "malformed" }],
    ["", { kind: "malformed" }],
  ])("%j", (header, parsed) => {
    expect(parseConnectTimeout(header)).toEqual(parsed);
  });
});
