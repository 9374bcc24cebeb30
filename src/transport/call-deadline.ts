// Hands each call's deadline from grpc-js to the middleware chain.
//
// grpc-js reads the client's deadline (the grpc-timeout header), enforces it
// itself and strips it from the metadata, so a nice-grpc middleware cannot
// tell a call that came with a deadline from one that came without. The
// deadline middleware needs exactly that: the default applies only to calls
// without one, and the ceiling caps the ones that ask for more. This
// interceptor reads the deadline where grpc-js keeps it and passes it on as a
// metadata entry that only it sets (a value a client sends under that key is
// dropped first).
import { ServerInterceptingCall, type Metadata as GrpcMetadata, type ServerInterceptor } from "@grpc/grpc-js";
import type { Metadata } from "nice-grpc-common";

const DEADLINE_KEY = "x-call-deadline-ms";

export const callDeadlineInterceptor: ServerInterceptor = (_method, call) =>
  new ServerInterceptingCall(call, {
    start(next) {
      next({
        onReceiveMetadata(metadata: GrpcMetadata, nextMetadata: (metadata: GrpcMetadata) => void) {
          metadata.remove(DEADLINE_KEY);
          const deadline = call.getDeadline();
          const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
          if (Number.isFinite(deadlineMs)) metadata.set(DEADLINE_KEY, String(deadlineMs));
          nextMetadata(metadata);
        },
      });
    },
  });

/** The client's deadline in ms since the epoch, or undefined when it set none. */
export function takeCallDeadline(metadata: Metadata): number | undefined {
  const value = metadata.get(DEADLINE_KEY);
  metadata.delete(DEADLINE_KEY);
  return value === undefined ? undefined : Number(value);
}
