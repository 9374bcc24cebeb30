// Errors the domain raises. They carry what went wrong in words a client may
// read; src/middleware/errors.ts turns them into gRPC status codes.

export abstract class DomainError extends Error {
  protected constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request is malformed: INVALID_ARGUMENT. `field` names the offending part. */
export class InvalidArgumentError extends DomainError {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** The thing named does not exist: NOT_FOUND. */
export class NotFoundError extends DomainError {
  constructor(message: string) {
    super(message);
  }
}
