// google.rpc error details for the statuses the transport gives on its own
// (a refused request, a deadline, a shutdown): the composition root says what
// they are (src/middleware/errors.ts), the transport encodes them in
// grpc-status-details-bin as google.rpc.Status.
import type { Status } from "nice-grpc-common";

/** A google.protobuf.Any: a detail message's type URL and its encoding. */
export interface AnyDetail {
  readonly typeUrl: string;
  readonly value: Uint8Array;
}

export interface TransportStatus {
  readonly code: Status;
  readonly message: string;
  readonly requestId: string;
  /** The request field at fault and what is wrong with it, when a request message could not be read. */
  readonly fieldViolation?: { readonly field: string; readonly description: string } | undefined;
}

export type DescribeStatus = (status: TransportStatus) => readonly AnyDetail[];
