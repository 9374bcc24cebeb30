// One call's transaction. Its statements are cancelled when the call stops
// (cancellable-connection.ts), and the server bounds them by itself too:
// `statement_timeout` is set for the transaction alone (set_config(…, true),
// SET LOCAL's function form), to the time the call has left, which a
// transaction pooler passes through as any statement (a startup parameter
// it would refuse). So a transaction stops in time even when its cancel is
// dropped or cannot reach the server.
//
// The outcome it reports is what the store did. Nothing commits unless the
// work finished while the signal had not aborted. Until postgres.js has sent
// COMMIT, any failure means nothing was kept, and the call does not wait for
// a BEGIN or ROLLBACK that cannot reach the server; once COMMIT was sent, a lost
// connection (or no answer by `abandonAfterMs` after the call stopped) is
// StatementOutcomeUnknownError.
import type { Sql } from "postgres";
import type { CallConnection, WorkScope } from "./handle";
import type { CancelGate } from "./cancel-gate";
import { cancellableConnection } from "./cancellable-connection";
import type { DriverClient } from "./drizzle-client";
import { isConnectionError } from "../shared/database-errors";
import type { Reachability } from "./reachability";
import { StatementOutcomeUnknownError } from "./statement-errors";

/** The transaction's statement_timeout is the call's time left plus this, so the call's own deadline (and its cancel) normally comes first. */
const STATEMENT_TIMEOUT_SLACK_MS = 100;
const MAX_STATEMENT_TIMEOUT_MS = 2 ** 31 - 1;

export interface TransactionOptions {
  readonly sql: Sql;
  readonly gate: CancelGate;
  readonly reachability: Reachability;
  readonly statementTimeoutMs: number;
  readonly abandonAfterMs: number;
  readonly connectionOver: (client: DriverClient) => CallConnection;
}

export type RunTransaction = <T>(scope: WorkScope, work: (tx: CallConnection) => Promise<T>) => Promise<T>;

export function createTransactions(options: TransactionOptions): RunTransaction {
  const { sql, reachability } = options;

  return <T>(scope: WorkScope, work: (tx: CallConnection) => Promise<T>): Promise<T> => {
    const { signal } = scope;
    signal.throwIfAborted();
    reachability.check();
    return new Promise<T>((resolve, reject) => {
      /** Before the work: waiting for a connection, or for BEGIN. Then the work's statements, then COMMIT. */
      let phase: "starting" | "working" | "committing" = "starting";
      let abandonTimer: NodeJS.Timeout | undefined;
      const settle = (outcome: () => void) => {
        clearTimeout(abandonTimer);
        signal.removeEventListener("abort", onAbort);
        outcome();
      };
      const onAbort = () => {
        // Nothing of the work was sent: it stops now, whatever becomes of BEGIN.
        if (phase === "starting") settle(() => reject(signal.reason as Error));
        // A COMMIT that does not answer once the call has stopped is given up on.
        else if (phase === "committing")
          abandonTimer = setTimeout(
            () => settle(() => reject(new StatementOutcomeUnknownError({ cause: signal.reason }))),
            options.abandonAfterMs,
          );
        // While working, the cancellable connection stops the work.
      };
      signal.addEventListener("abort", onAbort, { once: true });

      const begun = sql
        .begin(async (tx) => {
          signal.throwIfAborted();
          phase = "working";
          const cancellable = cancellableConnection(tx, {
            driverOptions: sql.options,
            signal,
            gate: options.gate,
            abandonAfterMs: options.abandonAfterMs,
            onFailure: (error) => reachability.failed(error),
          });
          try {
            const result = await cancellable.run(async () => {
              const budget = Math.min(scope.remainingMs() ?? options.statementTimeoutMs, options.statementTimeoutMs);
              const timeoutMs = Math.min(Math.ceil(budget) + STATEMENT_TIMEOUT_SLACK_MS, MAX_STATEMENT_TIMEOUT_MS);
              await cancellable.client.unsafe("SELECT set_config('statement_timeout', $1, true)", [String(timeoutMs)]);
              return work(options.connectionOver(cancellable.client));
            });
            // The last moment to stop: postgres.js sends COMMIT when this returns.
            await cancellable.quiet();
            signal.throwIfAborted();
            phase = "committing";
            return result;
          } catch (error) {
            // No COMMIT was sent, so nothing was kept, whatever became of the
            // statement: the call fails for what stopped it.
            const failure = (
              error instanceof StatementOutcomeUnknownError ? (signal.aborted ? signal.reason : error.cause) : error
            ) as Error;
            if (!cancellable.abandoned) await cancellable.quiet();
            // Answered now: the ROLLBACK postgres.js sends next may not reach the server.
            settle(() => reject(failure));
            throw failure;
          }
        })
        .signal(signal);

      begun.then(
        (result) => settle(() => resolve(result)),
        (error: unknown) => {
          reachability.failed(error);
          settle(() =>
            reject(
              phase === "committing" && isConnectionError(error)
                ? new StatementOutcomeUnknownError({ cause: error })
                : (error as Error),
            ),
          );
        },
      );
    });
  };
}
