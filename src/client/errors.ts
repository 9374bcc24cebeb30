// What a failed call throws: the status code, the server's message, the
// method and the request id, so a caller can tell NOT_FOUND from
// UNAVAILABLE and quote the id when it reports the failure; and the error
// details the server sent (google.rpc.ErrorInfo, BadRequest), so a program
// can act on a failure without parsing its message.
import { BadRequest, ErrorInfo, RichClientError } from "nice-grpc-error-details";
import { ClientError, Status } from "nice-grpc-common";

export { Status };

/** One field at fault: its proto path (e.g. `items[499].price`) and what is wrong with it. */
export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

export class ProductClientError extends Error {
  /** google.rpc.ErrorInfo.reason: stable, e.g. "INVALID_FIELD"; undefined when the status carried none. */
  readonly reason: string | undefined;
  /** google.rpc.ErrorInfo.domain: "product.v1" for this service's own reasons. */
  readonly domain: string | undefined;
  /** google.rpc.ErrorInfo.metadata. */
  readonly errorMetadata: Readonly<Record<string, string>>;
  /** google.rpc.BadRequest's field violations; empty unless the request was at fault. */
  readonly fieldViolations: readonly FieldViolation[];

  constructor(
    readonly code: Status,
    readonly details: string,
    readonly method: string,
    readonly requestId: string | undefined,
    extra: readonly unknown[] = [],
  ) {
    super(`${method} ${Status[code]}: ${details}${requestId === undefined ? "" : ` (request id ${requestId})`}`);
    this.name = "ProductClientError";
    const info = extra.find((detail): detail is ErrorInfo => (detail as { $type?: string }).$type === ErrorInfo.$type);
    this.reason = info?.reason;
    this.domain = info?.domain;
    this.errorMetadata = info?.metadata ?? {};
    this.fieldViolations = extra
      .filter((detail): detail is BadRequest => (detail as { $type?: string }).$type === BadRequest.$type)
      .flatMap((badRequest) => badRequest.fieldViolations.map(({ field, description }) => ({ field, description })));
  }

  /** The status code's name, e.g. "NOT_FOUND". */
  get codeName(): string {
    return Status[this.code] ?? String(this.code);
  }

  static from(error: unknown, method: string, requestId: string | undefined): unknown {
    if (error instanceof ProductClientError) return error;
    if (error instanceof RichClientError)
      return new ProductClientError(error.code, error.details, method, requestId, error.extra);
    if (error instanceof ClientError) return new ProductClientError(error.code, error.details, method, requestId);
    return error;
  }
}
