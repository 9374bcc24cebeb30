// PostgreSQL through a postgres.js pool (postgres-sessions.ts), assembled
// from parts with one job each:
//
// - every statement runs on a connection reserved for it, its call's or its
//   own (reserved-work.ts, transaction.ts, shared-statements.ts), so that
//   cancelling it reaches nothing else (cancellable-connection.ts);
// - cancel requests are bounded in number (cancel-gate.ts), so that a
//   database that stops answering never holds more than the pool, the
//   LISTEN session and CANCEL_SLOTS cancel connections;
// - once a connection fails, calls fail at once while a probe looks for the
//   database's return (reachability.ts);
// - what needs a session of its own (LISTEN, the migrations' lock) uses the
//   direct URL, the rest the pool's, which may be a transaction pooler
//   (postgres-listener.ts, advisory-lock.ts).
import type { DatabaseHandle, DrizzleConfig, WorkScope } from "./handle";
import { withAdvisoryLock } from "./advisory-lock";
import { createCancelGate } from "./cancel-gate";
import { createStatementRouter, drizzleOver } from "./drizzle-client";
import { startListener } from "./postgres-listener";
import { CANCEL_TIMEOUT_MS, openPool } from "./postgres-sessions";
import { createReachability } from "./reachability";
import { createReservedWork } from "./reserved-work";
import { sharedStatements } from "./shared-statements";
import { createTransactions } from "./transaction";

export interface PostgresOptions {
  readonly url: string;
  readonly directUrl: string;
  readonly poolMax: number;
  readonly prepare: boolean;
  readonly statementTimeoutMs: number;
  readonly drizzleConfig: DrizzleConfig;
}

/** Cancel requests on their way at once, at most. */
export const CANCEL_SLOTS = 4;
/**
 * How long a stopped statement is waited for: a free cancel slot, then the
 * cancel landing (postgres.js closes the connection after CANCEL_TIMEOUT_MS
 * without an answer), with a margin.
 */
const ABANDON_AFTER_MS = 2 * CANCEL_TIMEOUT_MS + 500;
/** The reachability probe: an answer within this, or the database still counts as unreachable. */
const PROBE_TIMEOUT_MS = 1_000;
/** A health check's round trip; health/database-health.ts calls a check over 2 s slow on its own clock. */
const PING_TIMEOUT_MS = 5_000;

/** A scope that nothing stops but time. */
function timeLimited(ms: number): WorkScope {
  const until = Date.now() + ms;
  return { signal: AbortSignal.timeout(ms), remainingMs: () => Math.max(until - Date.now(), 0) };
}

export function openPostgres(options: PostgresOptions): DatabaseHandle {
  const sql = openPool(options.url, options);
  const gate = createCancelGate({ slots: CANCEL_SLOTS, maxWaitMs: CANCEL_TIMEOUT_MS, slotMs: 2 * CANCEL_TIMEOUT_MS });
  const reachability = createReachability(() =>
    runReserved(timeLimited(PROBE_TIMEOUT_MS), async (client) => void (await client.unsafe("SELECT 1")), {
      whileUnreachable: true,
    }),
  );
  const bounds = {
    gate,
    reachability,
    statementTimeoutMs: options.statementTimeoutMs,
    abandonAfterMs: ABANDON_AFTER_MS,
  };
  const runReserved = createReservedWork({ sql, ...bounds });
  const router = createStatementRouter(sql.options, options.drizzleConfig);
  const transaction = createTransactions({ sql, ...bounds, connectionOver: router.connectionOver });
  /** Sessions held besides the pool's: LISTEN, the migrations' lock. */
  let sessions = 0;

  return {
    backend: "postgres",
    db: drizzleOver(sharedStatements(sql.options, runReserved), options.drizzleConfig),

    prepare(build) {
      return build(router.db);
    },

    withConnection(scope, work) {
      return runReserved(scope, (client) => work(router.connectionOver(client)));
    },

    transaction,

    async listen(channel, onPayload, onListening) {
      let open = false;
      const stop = await startListener({
        url: options.directUrl,
        channel,
        onPayload,
        onListening: (listening, reason) => {
          if (listening !== open) sessions += listening ? 1 : -1;
          open = listening;
          onListening?.(listening, reason);
        },
        notify: (heartbeat, payload) =>
          runReserved(timeLimited(PING_TIMEOUT_MS), async (client) => {
            await client.unsafe("SELECT pg_notify($1, $2)", [heartbeat, payload]);
          }),
      });
      return async () => {
        if (open) sessions -= 1;
        open = false;
        await stop();
      };
    },

    async withAdvisoryLock(key, work) {
      sessions += 1;
      try {
        return await withAdvisoryLock(options.directUrl, key, options.drizzleConfig, work);
      } finally {
        sessions -= 1;
      }
    },

    async ping() {
      await runReserved(timeLimited(PING_TIMEOUT_MS), async (client) => void (await client.unsafe("SELECT 1")));
    },

    connectionsInUse() {
      return sql.stats.leased + sessions;
    },

    async close() {
      reachability.stop();
      await sql.end({ timeout: 5 });
    },
  };
}
