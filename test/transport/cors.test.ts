// CORS: only the origins configured get CORS headers and preflight answers;
// "*" allows any; nothing ever allows credentials.
import { corsHeaders } from "../../src/transport/cors";

describe("corsHeaders", () => {
  test.each([
    [[], "https://a.example", undefined],
    [["https://a.example"], "https://a.example", "https://a.example"],
    [["https://a.example"], "https://b.example", undefined],
    [["https://a.example"], undefined, undefined],
    [["https://a.example", "*"], "https://b.example", "*"],
  ])("allowed %j, origin %s: %s", (allowedOrigins, origin, allowed) => {
    const headers = corsHeaders({ allowedOrigins }, origin === undefined ? {} : { origin });
    expect(headers["access-control-allow-origin"]).toBe(allowed);
    expect(headers["access-control-allow-credentials"]).toBeUndefined();
    if (allowed !== undefined) expect(headers.vary).toBe("Origin");
  });
});
