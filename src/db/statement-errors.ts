// What a failed statement tells about what it did.
import { isConnectionError } from "./reachability";

/**
 * True when the database itself answered the statement with an error (a
 * SQLSTATE, PostgreSQL's or PGlite's, anywhere in the cause chain, outside the
 * connection classes): a statement that runs on its own then kept nothing. A
 * lost connection proves nothing: the statement may have committed.
 */
export function refusedByDatabase(error: unknown): boolean {
  if (isConnectionError(error)) return false;
  for (let current = error, depth = 0; current !== null && typeof current === "object" && depth < 8; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
