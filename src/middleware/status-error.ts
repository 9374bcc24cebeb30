// Builds the statuses the service sends: the code and a human message,
// plus google.rpc error details that a program can read without
// parsing English (sent in `grpc-status-details-bin` by nice-grpc-error-details'
// server middleware): ErrorInfo with a stable reason, RequestInfo with the
// request id, and for INVALID_ARGUMENT a BadRequest naming the field.
import { BadRequest, ErrorInfo, RequestInfo, RichServerError, type ErrorDetails } from "nice-grpc-error-details";
import type { Status } from "nice-grpc-common";
import { ERROR_DOMAIN, type Reason } from "../shared/errors";
import type { AnyDetail } from "../shared/status-details";

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
  const info = errorInfo(reason, details);
  const badRequest = badRequestOf(details);
  const requestInfo = requestInfoOf(details);
  const extra: ErrorDetails[] = [info];
  if (badRequest !== undefined) extra.push(badRequest);
  if (requestInfo !== undefined) extra.push(requestInfo);
  return new RichServerError(code, message, extra);
}

/** The same details, encoded as google.protobuf.Any, for statuses that do not pass through the chain. */
export function encodedDetails(reason: Reason, details: StatusErrorDetails = {}): AnyDetail[] {
  const encoded: AnyDetail[] = [any("google.rpc.ErrorInfo", ErrorInfo.encode(errorInfo(reason, details)).finish())];
  const badRequest = badRequestOf(details);
  if (badRequest !== undefined) encoded.push(any("google.rpc.BadRequest", BadRequest.encode(badRequest).finish()));
  const requestInfo = requestInfoOf(details);
  if (requestInfo !== undefined) encoded.push(any("google.rpc.RequestInfo", RequestInfo.encode(requestInfo).finish()));
  return encoded;
}

function errorInfo(reason: Reason, details: StatusErrorDetails): ErrorInfo {
  return ErrorInfo.fromPartial({ reason, domain: ERROR_DOMAIN, metadata: { ...details.metadata } });
}

function badRequestOf(details: StatusErrorDetails): BadRequest | undefined {
  if (details.fieldViolations === undefined || details.fieldViolations.length === 0) return undefined;
  return BadRequest.fromPartial({ fieldViolations: details.fieldViolations.map((violation) => ({ ...violation })) });
}

function requestInfoOf(details: StatusErrorDetails): RequestInfo | undefined {
  return details.requestId === undefined ? undefined : RequestInfo.fromPartial({ requestId: details.requestId });
}

function any(typeName: string, value: Uint8Array): AnyDetail {
  return { typeUrl: `type.googleapis.com/${typeName}`, value };
}
