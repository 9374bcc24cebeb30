// How this service connects to PostgreSQL with postgres.js: the pool, and
// the sessions of its own (LISTEN, the migrations' lock).
//
// No startup parameter but application_name (which poolers pass on): a
// transaction pooler such as PgBouncer refuses the others ("unsupported
// startup parameter"), and a session setting would outlive the transaction
// it was meant for there anyway. Statements are bounded otherwise: by their
// call's cancel and the statement bound (reserved-work.ts), and in a
// transaction by a statement_timeout of its own (transaction.ts).
import postgres, { type Options, type Sql } from "postgres";

const APPLICATION_NAME = "product-service";
/** A database that does not answer fails a connection attempt within a second or so, not 30 s. */
const CONNECT_TIMEOUT_SECONDS = 1;
/**
 * How long a cancel request may take to land, and a cancelled statement to
 * end, before postgres.js closes its connection (the database is then
 * silent, and whether the statement ran is unknown). A live server answers
 * a cancel in milliseconds; on a busy one it can take more than a second,
 * and closing the connection then would make a write's outcome unknown for
 * nothing.
 */
export const CANCEL_TIMEOUT_MS = 2_000;
/** postgres.js waits up to 20 s between reconnects after repeated failures; the reachability gate already keeps calls off a dead database, so a short wait is enough. */
const MAX_RECONNECT_WAIT_SECONDS = 0.25;

/** What every connection of the service shares. */
function common(): Options<Record<string, postgres.PostgresType>> {
  return {
    connection: { application_name: APPLICATION_NAME },
    // Server notices (e.g. "relation already exists, skipping") are not ours to print.
    onnotice: () => undefined,
    // Every type the schema uses is built in, so postgres.js knows it
    // without asking; asking can take a connection beside the pool's.
    fetch_types: false,
  };
}

export function openPool(url: string, options: { readonly poolMax: number; readonly prepare: boolean }): Sql {
  return postgres(url, {
    ...common(),
    max: options.poolMax,
    // Off for a transaction pooler that keeps no prepared statement across transactions.
    prepare: options.prepare,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    cancel_timeout: CANCEL_TIMEOUT_MS / 1_000,
    backoff: (retries: number) => Math.min(0.025 * 2 ** retries, MAX_RECONNECT_WAIT_SECONDS),
  });
}

/** One session for as long as it lives (no idle or lifetime limit: LISTEN and a session lock end with it). */
export function openSession(
  url: string,
  options: Pick<Options<Record<string, postgres.PostgresType>>, "onnotify" | "onclose" | "connect_timeout"> = {},
): Sql {
  return postgres(url, {
    ...common(),
    max: 1,
    idle_timeout: 0,
    max_lifetime: null,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    ...options,
  });
}
