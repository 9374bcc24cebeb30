// Builds the statuses the service sends: the code and human message as
// before, plus google.rpc error details that a program can read without
// parsing English (sent in `grpc-status-details-bin` by nice-grpc-error-details'
// server middleware): ErrorInfo with a stable reason, RequestInfo with the
// request id, and for INVALID_ARGUMENT a BadRequest naming the field.
import { BadRequest, ErrorInfo, RequestInfo, RichServerError, type ErrorDetails } from "nice-grpc-error-details";
import type { Status } from "nice-grpc-common";
import { ERROR_DOMAIN, type Reason } from "../errors";

export interface StatusErrorDetails {
  /** The request id, so a report quotes what the server's log line carries. */
  readonly requestId?: string;
  /** Each offending field (its proto path) and what is wrong with it. */
  readonly fieldViolations?: readonly { readonly field: string; readonly description: string }[];
  /** ErrorInfo.metadata: facts a program may act on, e.g. the limit that was exceeded. */
  readonly metadata?: Readonly<Record<string, string>>;
}

export function statusError(
  code: Status,
  message: string,
  reason: Reason,
  details: StatusErrorDetails = {},
): RichServerError {
  const extra: ErrorDetails[] = [
    ErrorInfo.fromPartial({ reason, domain: ERROR_DOMAIN, metadata: { ...details.metadata } }),
  ];
  if (details.fieldViolations !== undefined && details.fieldViolations.length > 0) {
    extra.push(
      BadRequest.fromPartial({ fieldViolations: details.fieldViolations.map((violation) => ({ ...violation })) }),
    );
  }
  if (details.requestId !== undefined) extra.push(RequestInfo.fromPartial({ requestId: details.requestId }));
  return new RichServerError(code, message, extra);
}
