// What a failed statement tells about what it did.
import { errorCauses, errorCode } from "../shared/error-causes";
import { isConnectionError } from "../shared/database-errors";

/**
 * True when the database itself answered the statement with an error (a
 * SQLSTATE, PostgreSQL's or PGlite's, anywhere in the cause chain, outside the
 * connection classes): a statement that runs on its own then kept nothing. A
 * lost connection proves nothing: the statement may have committed.
 */
export function refusedByDatabase(error: unknown): boolean {
  if (isConnectionError(error) || outcomeUnknown(error)) return false;
  for (const cause of errorCauses(error)) {
    const code = errorCode(cause);
    if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) return true;
  }
  return false;
}

/**
 * A statement was sent (or a COMMIT was) and no answer will come: its
 * connection was lost, or the call stopped waiting for a statement that
 * could not be cancelled. Whether it was carried out is unknown, and may
 * only become true later (a statement held up in the network still runs when
 * it arrives).
 */
export class StatementOutcomeUnknownError extends Error {
  readonly code = "STATEMENT_OUTCOME_UNKNOWN";
  constructor(options: { cause: unknown }) {
    super("a statement was sent and its outcome is unknown: the connection was lost or stopped answering", options);
    this.name = "StatementOutcomeUnknownError";
  }
}

/** True when `error` is, or wraps, a StatementOutcomeUnknownError. */
export function outcomeUnknown(error: unknown): boolean {
  for (const cause of errorCauses(error)) if (cause instanceof StatementOutcomeUnknownError) return true;
  return false;
}
