// The one place where failures become gRPC statuses. Domain errors and
// Postgres SQLSTATEs map to their codes with messages written here; anything
// else is INTERNAL with a generic message that carries the request id, while
// the full error goes to the log. No SQL, stack trace, token or driver text
// ever reaches a client.
import { isAbortError } from "abort-controller-x";
import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from "nice-grpc-common";
import { DomainError, InvalidArgumentError, NotFoundError } from "../errors";
import { isConnectionError } from "../db/reachability";
import type { Logger } from "../logger";
import { abortStatus, CANCELLED_MESSAGE, DEADLINE_EXCEEDED_MESSAGE } from "../transport/call-scope";
import type { CallScopeContext } from "./call-scope";

interface Mapped {
  readonly code: Status;
  readonly message: string;
}

const DATABASE_UNAVAILABLE: Mapped = { code: Status.UNAVAILABLE, message: "the database is unavailable; retry later" };

function mapDomainError(error: DomainError): Mapped {
  if (error instanceof InvalidArgumentError) return { code: Status.INVALID_ARGUMENT, message: error.message };
  if (error instanceof NotFoundError) return { code: Status.NOT_FOUND, message: error.message };
  return { code: Status.INTERNAL, message: "internal error" };
}

/** Maps a SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html) by its class. */
function mapSqlState(state: string): Mapped | undefined {
  switch (state) {
    case "23505":
      return { code: Status.ALREADY_EXISTS, message: "a product with that key already exists" };
    case "40001":
    case "40P01":
      return { code: Status.ABORTED, message: "the request conflicted with a concurrent change; retry it" };
    case "57014": // query_canceled: by a cancel, or by statement_timeout (the backstop)
      return { code: Status.DEADLINE_EXCEEDED, message: DEADLINE_EXCEEDED_MESSAGE };
    case "57P01":
    case "57P02":
    case "57P03":
      return DATABASE_UNAVAILABLE;
  }
  switch (state.slice(0, 2)) {
    case "08": // connection exception
    case "53": // insufficient resources
      return DATABASE_UNAVAILABLE;
    case "22": // data exception
    case "23": // integrity constraint violation
      return { code: Status.INVALID_ARGUMENT, message: "the database refused a value in the request" };
  }
  return undefined;
}

/** Walks the cause chain (Drizzle wraps driver errors) for something we know. */
export function mapError(error: unknown): Mapped | undefined {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 8; depth += 1) {
    if (current instanceof DomainError) return mapDomainError(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") {
      if (isConnectionError(current)) return DATABASE_UNAVAILABLE;
      if (/^[0-9A-Z]{5}$/.test(code)) {
        const mapped = mapSqlState(code);
        if (mapped !== undefined) return mapped;
      }
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function createErrorsMiddleware(logger: Logger) {
  return async function* errorsMiddleware<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext & CallScopeContext,
  ) {
    try {
      return yield* call.next(call.request, context);
    } catch (error) {
      // A call that was stopped (cancelled, expired, shut down) fails for that
      // reason, whatever its work threw on the way out (a cancelled query's error).
      const stopped = abortStatus(context.call.signal);
      if (stopped !== undefined) throw stopped;
      // Statuses already decided pass through.
      if (error instanceof ServerError) throw error;
      if (isAbortError(error)) throw new ServerError(Status.CANCELLED, CANCELLED_MESSAGE);
      const requestId = context.call.requestId;
      const mapped = mapError(error);
      if (mapped !== undefined && mapped.code !== Status.INTERNAL) {
        if (mapped.code === Status.UNAVAILABLE) {
          logger.warn({ requestId, method: call.method.path, err: error }, "database unavailable");
        }
        throw new ServerError(mapped.code, mapped.message);
      }
      logger.error({ requestId, method: call.method.path, err: error }, "unhandled error");
      throw new ServerError(Status.INTERNAL, `internal error (request id ${requestId})`);
    }
  };
}
