// What a failed call throws: the status code, the server's message, the
// method and the request id, so a caller can tell NOT_FOUND from
// UNAVAILABLE and quote the id when it reports the failure.
import { ClientError, Status } from "nice-grpc-common";

export { Status };

export class ProductClientError extends Error {
  constructor(
    readonly code: Status,
    readonly details: string,
    readonly method: string,
    readonly requestId: string | undefined,
  ) {
    super(`${method} ${Status[code]}: ${details}${requestId === undefined ? "" : ` (request id ${requestId})`}`);
    this.name = "ProductClientError";
  }

  /** The status code's name, e.g. "NOT_FOUND". */
  get codeName(): string {
    return Status[this.code] ?? String(this.code);
  }

  static from(error: unknown, method: string, requestId: string | undefined): unknown {
    if (error instanceof ProductClientError) return error;
    if (error instanceof ClientError) return new ProductClientError(error.code, error.details, method, requestId);
    return error;
  }
}
