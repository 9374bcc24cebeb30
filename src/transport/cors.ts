// CORS for pages served from other origins (https://fetch.spec.whatwg.org/#http-cors-protocol):
// only the origins configured may call, none by default (so only pages of
// the server's own origin can). A preflight is answered for them; every
// response to them names them and exposes the headers the web protocols read
// (status, error details, request id). No credentials mode: tokens travel in
// the Authorization header, which a preflight allows like any other header.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import type { HttpExchange } from "./http-exchange";

export interface CorsPolicy {
  /** Origins (scheme://host[:port]) whose pages may call; "*" for any. */
  readonly allowedOrigins: readonly string[];
}

const EXPOSED_HEADERS = [
  "grpc-status",
  "grpc-message",
  "grpc-status-details-bin",
  "grpc-encoding",
  "grpc-accept-encoding",
  "connect-content-encoding",
  "connect-accept-encoding",
  "content-encoding",
  "x-request-id",
].join(", ");

/** How long a browser may keep a preflight's answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 7_200;

/** A header list as a browser sends it in Access-Control-Request-Headers. */
const HEADER_NAMES = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

/** The CORS headers for a response to `requestHeaders`, or none when it has no allowed Origin. */
export function corsHeaders(policy: CorsPolicy, requestHeaders: IncomingHttpHeaders): OutgoingHttpHeaders {
  const origin = allowedOrigin(policy, requestHeaders.origin);
  if (origin === undefined) return {};
  return { "access-control-allow-origin": origin, "access-control-expose-headers": EXPOSED_HEADERS, vary: "Origin" };
}

/** Answers an OPTIONS request: a preflight from an allowed origin gets its permission, anything else 403. */
export function answerPreflight(policy: CorsPolicy, exchange: HttpExchange): void {
  const origin = allowedOrigin(policy, exchange.headers.origin);
  const method = exchange.headers["access-control-request-method"];
  const requested = exchange.headers["access-control-request-headers"];
  if (origin === undefined || (method !== "POST" && method !== "GET")) {
    exchange.respond(403, { "content-type": "text/plain", vary: "Origin" });
    exchange.end("this origin may not call the service\n");
    return;
  }
  const headers: OutgoingHttpHeaders = {
    "access-control-allow-origin": origin,
    "access-control-allow-methods": "POST, GET",
    "access-control-max-age": String(PREFLIGHT_MAX_AGE_SECONDS),
    vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
  };
  // The service reads only the headers it knows; a page may send any metadata it likes.
  if (typeof requested === "string" && HEADER_NAMES.test(requested))
    headers["access-control-allow-headers"] = requested;
  exchange.respond(204, headers);
  exchange.end();
}

function allowedOrigin(policy: CorsPolicy, origin: string | undefined): string | undefined {
  if (origin === undefined || policy.allowedOrigins.length === 0) return undefined;
  if (policy.allowedOrigins.includes("*")) return "*";
  return policy.allowedOrigins.includes(origin) ? origin : undefined;
}
