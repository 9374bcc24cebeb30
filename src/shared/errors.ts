// Errors the domain raises. They carry what went wrong in words a client may
// read and a stable reason a program may test; src/middleware/errors.ts turns
// them into gRPC status codes with google.rpc error details.

/** google.rpc.ErrorInfo's domain for every reason this service gives. */
export const ERROR_DOMAIN = "product.v1";

/**
 * The reasons (google.rpc.ErrorInfo.reason) a client may see: part of the
 * contract, so a reason is never renamed or reused for something else.
 */
export const Reason = {
  /** A field of the request breaks a rule; BadRequest names which. */
  INVALID_FIELD: "INVALID_FIELD",
  /** The product named does not exist. */
  PRODUCT_NOT_FOUND: "PRODUCT_NOT_FOUND",
  /** The idempotency key was used before for a different request. */
  REQUEST_ID_REUSED: "REQUEST_ID_REUSED",
  /** The batch is too large: too many items, or a response over the message limit. */
  BATCH_TOO_LARGE: "BATCH_TOO_LARGE",
  BATCH_RESPONSE_TOO_LARGE: "BATCH_RESPONSE_TOO_LARGE",
  /** WatchPrices would watch more ids than the server allows. */
  WATCH_TOO_LARGE: "WATCH_TOO_LARGE",
  /** A request the transport could not read: a malformed header, or a message that is not valid protobuf. */
  MALFORMED_REQUEST: "MALFORMED_REQUEST",
  /** A request over a size limit: its headers or one of its messages. */
  REQUEST_TOO_LARGE: "REQUEST_TOO_LARGE",
  /** A page token that was altered or belongs to another filter. */
  INVALID_PAGE_TOKEN: "INVALID_PAGE_TOKEN",
  DATABASE_UNAVAILABLE: "DATABASE_UNAVAILABLE",
  /**
   * A write was sent and the connection to the database was lost (or stopped
   * answering) before its outcome came back: it may or may not have been
   * stored. Retry it with the same request_id to find out without writing twice.
   */
  WRITE_OUTCOME_UNKNOWN: "WRITE_OUTCOME_UNKNOWN",
  DATABASE_REFUSED_VALUE: "DATABASE_REFUSED_VALUE",
  CONFLICT: "CONFLICT",
  ALREADY_EXISTS: "ALREADY_EXISTS",
  DEADLINE_EXCEEDED: "DEADLINE_EXCEEDED",
  CANCELLED: "CANCELLED",
  SHUTTING_DOWN: "SHUTTING_DOWN",
  TOKEN_REQUIRED: "TOKEN_REQUIRED",
  SCOPE_MISSING: "SCOPE_MISSING",
  METHOD_CLOSED: "METHOD_CLOSED",
  INTERNAL: "INTERNAL",
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export abstract class DomainError extends Error {
  protected constructor(
    message: string,
    readonly reason: Reason,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request is malformed: INVALID_ARGUMENT. `field` is the offending field's proto path, e.g. `items[4].price`. */
export class InvalidArgumentError extends DomainError {
  constructor(
    readonly field: string,
    readonly description: string,
    reason: Reason = Reason.INVALID_FIELD,
  ) {
    super(`${field}: ${description}`, reason);
  }
}

/** The thing named does not exist: NOT_FOUND. */
export class NotFoundError extends DomainError {
  constructor(message: string, reason: Reason = Reason.PRODUCT_NOT_FOUND) {
    super(message, reason);
  }
}

/**
 * A write whose outcome is unknown (Reason.WRITE_OUTCOME_UNKNOWN): UNAVAILABLE,
 * whatever else stopped the call, since DEADLINE_EXCEEDED or CANCELLED would
 * say that nothing was written.
 */
export class WriteOutcomeUnknownError extends DomainError {
  constructor(options: { cause: unknown }) {
    super(
      "the write may or may not have been stored: the database connection was lost before it answered; " +
        "retry with the same request_id",
      Reason.WRITE_OUTCOME_UNKNOWN,
    );
    this.cause = options.cause;
  }
}
