// LISTEN on a connection of its own that comes back by itself. postgres.js's
// own listen() re-issues LISTEN after a reconnect, but gives up for good if
// the database is still down at that moment, and says nothing either way;
// here the connection is retried at once and then with a bounded backoff, and
// the caller is told whenever listening stops and starts again, so it can
// report itself unready meanwhile and catch up on what it missed (NOTIFY
// keeps nothing for a session that was not listening).
import postgres from "postgres";

export interface ListenerOptions {
  readonly url: string;
  readonly channel: string;
  readonly onPayload: (payload: string) => void;
  /** Called with true each time LISTEN is in place, false each time the connection is lost. */
  readonly onListening: (listening: boolean) => void;
}

const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 1_000;
const CONNECT_TIMEOUT_SECONDS = 2;

/** Resolves once listening the first time; the function it returns stops for good. */
export async function startListener(options: ListenerOptions): Promise<() => Promise<void>> {
  let stopped = false;
  let current: postgres.Sql | undefined;
  let retryMs = FIRST_RETRY_MS;

  const open = async (): Promise<void> => {
    while (!stopped) {
      const sql: postgres.Sql = postgres(options.url, {
        max: 1,
        idle_timeout: 0,
        max_lifetime: null,
        connect_timeout: CONNECT_TIMEOUT_SECONDS,
        fetch_types: false,
        onnotice: () => undefined,
        connection: { application_name: "product-service" },
        // Options postgres.js's listen() itself uses: every NOTIFY of this
        // session, and the loss of its connection.
        ...({
          onnotify: (channel: string, payload: string) => channel === options.channel && options.onPayload(payload),
          onclose: () => {
            if (current !== sql) return;
            current = undefined;
            options.onListening(false);
            void sql.end({ timeout: 0 }).catch(() => undefined);
            void open();
          },
        } as object),
      });
      try {
        await sql.unsafe(`LISTEN "${options.channel.replace(/"/g, '""')}"`);
        if (stopped) {
          await sql.end({ timeout: 0 });
          return;
        }
        current = sql;
        retryMs = FIRST_RETRY_MS;
        options.onListening(true);
        return;
      } catch {
        await sql.end({ timeout: 0 }).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, retryMs));
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      }
    }
  };

  await open();

  return async () => {
    stopped = true;
    const sql = current;
    current = undefined;
    await sql?.end({ timeout: 1 });
  };
}
