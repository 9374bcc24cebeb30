// The one place where failures become gRPC statuses. Domain errors and
// Postgres SQLSTATEs map to their codes with messages written here; anything
// else is INTERNAL with a generic message that carries the request id, while
// the full error goes to the log. No SQL, stack trace, token or driver text
// ever reaches a client. Every status leaves with its error details
// (status-error.ts): a stable reason, the request id, and the fields at fault.
import { isAbortError } from "abort-controller-x";
import { RichServerError } from "nice-grpc-error-details";
import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from "nice-grpc-common";
import { DomainError, InvalidArgumentError, NotFoundError, Reason, WriteOutcomeUnknownError } from "../shared/errors";
import { isConnectionError } from "../shared/database-errors";
import { errorCauses, errorCode } from "../shared/error-causes";
import type { Logger } from "pino";
import { InvalidMessageError } from "../shared/invalid-message";
import type { ScopeContext } from "../shared/request-scope";
import type { DescribeStatus } from "../shared/status-details";
import { CANCELLED_MESSAGE, DEADLINE_EXCEEDED_MESSAGE } from "../shared/status-messages";
import { encodedDetails, statusError, type StatusErrorDetails } from "./status-error";

interface Mapped {
  readonly code: Status;
  readonly message: string;
  readonly reason: Reason;
  readonly fieldViolations?: StatusErrorDetails["fieldViolations"];
}

const DATABASE_UNAVAILABLE: Mapped = {
  code: Status.UNAVAILABLE,
  message: "the database is unavailable; retry later",
  reason: Reason.DATABASE_UNAVAILABLE,
};

function mapDomainError(error: DomainError): Mapped {
  if (error instanceof InvalidArgumentError) {
    const fieldViolations = [{ field: error.field, description: error.description }];
    return { code: Status.INVALID_ARGUMENT, message: error.message, reason: error.reason, fieldViolations };
  }
  if (error instanceof NotFoundError) return { code: Status.NOT_FOUND, message: error.message, reason: error.reason };
  return { code: Status.INTERNAL, message: "internal error", reason: Reason.INTERNAL };
}

/** The reason of a status decided elsewhere (the call's signal, the transport, or a step that threw a plain ServerError). */
function reasonOfCode(code: Status): Reason {
  switch (code) {
    case Status.DEADLINE_EXCEEDED:
      return Reason.DEADLINE_EXCEEDED;
    case Status.CANCELLED:
      return Reason.CANCELLED;
    case Status.UNAVAILABLE:
      return Reason.SHUTTING_DOWN;
    case Status.UNAUTHENTICATED:
      return Reason.TOKEN_REQUIRED;
    case Status.PERMISSION_DENIED:
      return Reason.SCOPE_MISSING;
    case Status.INVALID_ARGUMENT:
      return Reason.MALFORMED_REQUEST;
    case Status.RESOURCE_EXHAUSTED:
      return Reason.REQUEST_TOO_LARGE;
    default:
      return Reason.INTERNAL;
  }
}

/** Maps a SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html) by its class. */
function mapSqlState(state: string): Mapped | undefined {
  switch (state) {
    case "23505":
      return {
        code: Status.ALREADY_EXISTS,
        message: "a product with that key already exists",
        reason: Reason.ALREADY_EXISTS,
      };
    case "40001":
    case "40P01":
      return {
        code: Status.ABORTED,
        message: "the request conflicted with a concurrent change; retry it",
        reason: Reason.CONFLICT,
      };
    case "57014": // query_canceled: by a cancel, or by statement_timeout (the backstop)
      return { code: Status.DEADLINE_EXCEEDED, message: DEADLINE_EXCEEDED_MESSAGE, reason: Reason.DEADLINE_EXCEEDED };
  }
  // (Connection failures, class 08 and 57P01-03, are isConnectionError's.)
  switch (state.slice(0, 2)) {
    case "53": // insufficient resources
      return DATABASE_UNAVAILABLE;
    case "22": // data exception
    case "23": // integrity constraint violation
      return {
        code: Status.INVALID_ARGUMENT,
        message: "the database refused a value in the request",
        reason: Reason.DATABASE_REFUSED_VALUE,
      };
  }
  return undefined;
}

/** Walks the cause chain (Drizzle wraps driver errors) for something we know. */
export function mapError(error: unknown): Mapped | undefined {
  for (const cause of errorCauses(error)) {
    if (cause instanceof DomainError) return mapDomainError(cause);
    const code = errorCode(cause);
    if (code === undefined) continue;
    if (isConnectionError(cause)) return DATABASE_UNAVAILABLE;
    if (/^[0-9A-Z]{5}$/.test(code)) {
      const mapped = mapSqlState(code);
      if (mapped !== undefined) return mapped;
    }
  }
  return undefined;
}

/** The status an aborted call's signal stands for (the transport aborts with a ServerError). */
function abortStatus(signal: AbortSignal): ServerError | undefined {
  return signal.aborted && signal.reason instanceof ServerError ? signal.reason : undefined;
}

/**
 * The details of a status the transport gives on its own (a request it
 * refused, a deadline, a shutdown): the same ErrorInfo reasons and
 * RequestInfo as every status of the service, and a BadRequest naming the
 * field of a request message that could not be read.
 */
export const describeTransportStatus: DescribeStatus = ({ code, requestId, fieldViolation }) =>
  encodedDetails(fieldViolation === undefined ? reasonOfCode(code) : Reason.INVALID_FIELD, {
    requestId,
    fieldViolations: fieldViolation === undefined ? undefined : [fieldViolation],
  });

export function createErrorsMiddleware(logger: Logger) {
  return async function* errorsMiddleware<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext & ScopeContext,
  ) {
    const requestId = context.scope.requestId;
    try {
      return yield* call.next(call.request, context);
    } catch (error) {
      // A write that may have been stored says so, however the call was stopped:
      // DEADLINE_EXCEEDED or CANCELLED would say that nothing was written.
      if (error instanceof WriteOutcomeUnknownError) {
        logger.warn({ requestId, method: call.method.path, err: error }, "write outcome unknown");
        throw statusError(Status.UNAVAILABLE, error.message, error.reason, { requestId });
      }
      // A call that was stopped (cancelled, expired, shut down) fails for that
      // reason, whatever its work threw on the way out (a cancelled query's error).
      const stopped = abortStatus(context.scope.signal);
      if (stopped !== undefined)
        throw statusError(stopped.code, stopped.details, reasonOfCode(stopped.code), { requestId });
      // A request message the transport could not read, in a request stream.
      if (error instanceof InvalidMessageError) {
        const fieldViolations =
          error.field === undefined ? undefined : [{ field: error.field, description: error.description }];
        throw statusError(Status.INVALID_ARGUMENT, error.details, Reason.INVALID_FIELD, { requestId, fieldViolations });
      }
      // Statuses already decided pass through, given details if they have none.
      if (error instanceof RichServerError) throw error;
      if (error instanceof ServerError)
        throw statusError(error.code, error.details, reasonOfCode(error.code), { requestId });
      if (isAbortError(error)) throw statusError(Status.CANCELLED, CANCELLED_MESSAGE, Reason.CANCELLED, { requestId });
      const mapped = mapError(error);
      if (mapped !== undefined && mapped.code !== Status.INTERNAL) {
        if (mapped.code === Status.UNAVAILABLE) {
          logger.warn({ requestId, method: call.method.path, err: error }, "database unavailable");
        }
        throw statusError(mapped.code, mapped.message, mapped.reason, {
          requestId,
          fieldViolations: mapped.fieldViolations,
        });
      }
      logger.error({ requestId, method: call.method.path, err: error }, "unhandled error");
      throw statusError(Status.INTERNAL, `internal error (request id ${requestId})`, Reason.INTERNAL, { requestId });
    }
  };
}
