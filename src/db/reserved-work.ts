// Work on a connection reserved for it: a call's statements (withConnection)
// and each statement of work that is no one call's (shared-statements.ts).
// Nothing else runs on the connection meanwhile, so cancelling its
// statement stops nothing else (cancellable-connection.ts), and it goes back
// to the pool only once it is quiet.
import type { ReservedSql, Sql } from "postgres";
import type { WorkScope } from "./handle";
import type { CancelGate } from "./cancel-gate";
import { cancellableConnection } from "./cancellable-connection";
import type { DriverClient } from "./drizzle-client";
import type { Reachability } from "./reachability";

export interface ReservedWorkOptions {
  readonly sql: Sql;
  readonly gate: CancelGate;
  readonly reachability: Reachability;
  /** The longest a statement may run, whatever its scope says. */
  readonly statementTimeoutMs: number;
  /** How long a stopped statement is waited for (cancellable-connection.ts). */
  readonly abandonAfterMs: number;
}

export type RunReserved = <T>(
  scope: WorkScope,
  work: (client: DriverClient) => Promise<T>,
  options?: { readonly whileUnreachable?: boolean },
) => Promise<T>;

export function createReservedWork(options: ReservedWorkOptions): RunReserved {
  const { sql, reachability } = options;

  /** The scope's signal, or one that also aborts once the statement bound has passed (calls without a deadline, or with a longer one). */
  function boundedSignal(scope: WorkScope): AbortSignal {
    const remaining = scope.remainingMs();
    if (remaining !== undefined && remaining <= options.statementTimeoutMs) return scope.signal;
    return AbortSignal.any([scope.signal, AbortSignal.timeout(options.statementTimeoutMs)]);
  }

  /** A reserved connection, unless the signal aborts first (one granted meanwhile goes straight back). */
  async function reserve(signal: AbortSignal): Promise<ReservedSql> {
    let connection: ReservedSql;
    try {
      connection = await sql.reserve().signal(signal);
    } catch (error) {
      reachability.failed(error);
      signal.throwIfAborted();
      throw error;
    }
    if (signal.aborted) {
      connection.release();
      signal.throwIfAborted();
    }
    return connection;
  }

  return async (scope, work, runOptions = {}) => {
    scope.signal.throwIfAborted();
    if (runOptions.whileUnreachable !== true) reachability.check();
    const signal = boundedSignal(scope);
    const connection = await reserve(signal);
    const cancellable = cancellableConnection(connection, {
      driverOptions: sql.options,
      signal,
      gate: options.gate,
      abandonAfterMs: options.abandonAfterMs,
      onFailure: (error) => reachability.failed(error),
    });
    const released = () => void cancellable.quiet().then(() => connection.release());
    try {
      const result = await cancellable.run(() => work(cancellable.client));
      await cancellable.quiet();
      connection.release();
      return result;
    } catch (error) {
      // Given up on: the connection goes back once its statement has settled.
      if (cancellable.abandoned) released();
      else {
        await cancellable.quiet();
        connection.release();
      }
      throw error;
    }
  };
}
