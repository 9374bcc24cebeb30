// What a database error means, whoever asks: the data layer (is the database
// there at all?) and the status mapping (src/middleware/errors.ts). A code is
// looked for along the error's cause chain, as drivers' errors come wrapped.
import { errorCauses, errorCode } from "./error-causes";

/** Error codes of Node's sockets and of postgres.js, and SQLSTATEs, that mean "no database". */
const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "CANCEL_UNANSWERED",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
]);

/** True when `error`, or one it wraps, says the connection failed (class 08 SQLSTATEs included). */
export function isConnectionError(error: unknown): boolean {
  for (const cause of errorCauses(error)) {
    const code = errorCode(cause);
    if (
      code !== undefined &&
      (CONNECTION_ERROR_CODES.has(code) ||
        code.startsWith("08") ||
        code === "DATABASE_UNREACHABLE") /* DatabaseUnreachableError, src/db/reachability.ts */
    )
      return true;
  }
  return false;
}
