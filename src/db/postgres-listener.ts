// LISTEN on a session of its own, which proves that it hears and comes back
// by itself.
//
// A LISTEN that succeeded proves nothing: through a transaction pooler it
// runs on whichever server session the pooler lends for that one statement,
// and the notifications go there, not here; and a connection the network
// has silently dropped hears nothing either. So a heartbeat NOTIFY is sent
// every HEARTBEAT_INTERVAL_MS, on a channel of this listener's own, from
// another session (the pool), and the listener counts as hearing only while
// its heartbeats come back within HEARTBEAT_TIMEOUT_MS. When one does not,
// or the connection is lost, it reports that it is not hearing, and why, and
// starts a new session (closing the old one first, so it never holds more
// than one connection); once a heartbeat is heard again it reports so, and
// the caller catches up on what it missed (NOTIFY keeps nothing for a
// session that was not listening).
import { randomBytes } from "node:crypto";
import type { Sql } from "postgres";
import type { ListeningReport } from "./handle";
import { openSession } from "./postgres-sessions";
import { errorCode } from "../shared/error-causes";

export interface ListenerOptions {
  /** A URL that reaches PostgreSQL itself (or a session pooler): DATABASE_DIRECT_URL. */
  readonly url: string;
  readonly channel: string;
  readonly onPayload: (payload: string) => void;
  readonly onListening: ListeningReport;
  /** Sends NOTIFY `channel` with `payload` from another session, within about HEARTBEAT_TIMEOUT_MS. */
  readonly notify: (channel: string, payload: string) => Promise<void>;
}

export const HEARTBEAT_INTERVAL_MS = 1_000;
export const HEARTBEAT_TIMEOUT_MS = 3_000;
const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 1_000;
const CONNECT_TIMEOUT_SECONDS = 2;

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Resolves once it is known whether it hears (onListening has been called); the function it returns stops for good. */
export async function startListener(options: ListenerOptions): Promise<() => Promise<void>> {
  const heartbeatChannel = `product_service_heartbeat_${randomBytes(8).toString("hex")}`;
  let stopped = false;
  let current: Sql | undefined;
  let hearing: boolean | undefined;
  let retryMs = FIRST_RETRY_MS;
  let sequence = 0;
  /** The heartbeat awaited: when it was sent, and whether its NOTIFY has committed. */
  let awaited: { readonly payload: string; readonly at: number; sent: boolean } | undefined;
  let firstVerdict!: () => void;
  const decided = new Promise<void>((resolve) => (firstVerdict = resolve));

  const report = (now: boolean, reason?: string) => {
    if (now === hearing) return;
    hearing = now;
    options.onListening(now, reason);
    firstVerdict();
  };

  const open = async (): Promise<void> => {
    while (!stopped) {
      const session: Sql = openSession(options.url, {
        connect_timeout: CONNECT_TIMEOUT_SECONDS,
        onnotify: (channel, payload) => {
          if (channel === options.channel) options.onPayload(payload);
          else if (channel === heartbeatChannel && payload === awaited?.payload) {
            awaited = undefined;
            report(true);
          }
        },
        onclose: () => {
          if (current !== session) return;
          current = undefined;
          report(false, "the LISTEN connection was lost");
          void reopen(session);
        },
      });
      try {
        await session.unsafe(`LISTEN ${quoted(options.channel)}; LISTEN ${quoted(heartbeatChannel)}`);
        if (stopped) {
          await session.end({ timeout: 0 });
          return;
        }
        current = session;
        retryMs = FIRST_RETRY_MS;
        awaited = undefined;
        beat();
        return;
      } catch (error) {
        await session.end({ timeout: 0 }).catch(() => undefined);
        report(false, `LISTEN failed (${errorCode(error as object) ?? "error"})`);
        await new Promise((resolve) => setTimeout(resolve, retryMs));
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      }
    }
  };

  /** Closes `session` (so that there is never more than one), then opens another. */
  const reopen = async (session: Sql): Promise<void> => {
    await session.end({ timeout: 0 }).catch(() => undefined);
    if (!stopped) await open();
  };

  /** Sends a heartbeat, or judges the one awaited. */
  function beat(): void {
    if (stopped || current === undefined) return;
    if (awaited !== undefined) {
      if (Date.now() - awaited.at < HEARTBEAT_TIMEOUT_MS) return;
      report(
        false,
        awaited.sent
          ? `a heartbeat NOTIFY was not heard within ${HEARTBEAT_TIMEOUT_MS} ms: LISTEN needs a session of its own, ` +
              "and through a transaction pooler it hears nothing (set DATABASE_DIRECT_URL to the database itself)"
          : `no heartbeat NOTIFY could be sent within ${HEARTBEAT_TIMEOUT_MS} ms: the database is not answering`,
      );
      const session = current;
      current = undefined;
      awaited = undefined;
      void reopen(session);
      return;
    }
    sequence += 1;
    const heartbeat = { payload: String(sequence), at: Date.now(), sent: false };
    awaited = heartbeat;
    options.notify(heartbeatChannel, heartbeat.payload).then(
      () => (heartbeat.sent = true),
      () => undefined,
    );
  }

  const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  timer.unref();
  // Until LISTEN is in place it is retried in the background; the first
  // verdict (a heartbeat heard, or a failure) is what the caller waits for.
  void open();
  await decided;

  return async () => {
    stopped = true;
    clearInterval(timer);
    const session = current;
    current = undefined;
    await session?.end({ timeout: 1 });
  };
}
