// Releases connections Node's HTTP/2 layer has given up on but not closed.
// After a connection error (a header block HTTP/2 cannot decode, such as a
// 100 kB token), nghttp2 sends GOAWAY and stops reading; Node then never
// sees the peer close, emits nothing, and the socket stays in CLOSE-WAIT for
// good: enough such clients and the server runs out of file descriptors.
// Such a session can no longer answer a PING, so a session with no call open
// is pinged every PROBE_EVERY_MS, and one that does not answer within
// ANSWER_WITHIN_MS is destroyed. A live client answers (HTTP/2 requires it).
import type { Http2Session, ServerHttp2Stream } from "node:http2";

const SWEEP_MS = 1_000;
const PROBE_EVERY_MS = 3_000;
const ANSWER_WITHIN_MS = 1_000;

/** Starts probing; returns the function that stops it. */
export function startIdleSessionProbe(
  sessions: ReadonlySet<Http2Session>,
  streams: ReadonlySet<ServerHttp2Stream>,
): () => void {
  const lastAnswered = new WeakMap<Http2Session, number>();
  const awaiting = new WeakSet<Http2Session>();

  const sweep = () => {
    const busy = new Set<Http2Session>();
    for (const stream of streams) if (stream.session !== undefined) busy.add(stream.session);
    const now = Date.now();
    for (const session of sessions) {
      if (busy.has(session) || awaiting.has(session) || session.destroyed || session.closed) continue;
      if (!lastAnswered.has(session)) lastAnswered.set(session, now); // new: probe it later
      if (now - (lastAnswered.get(session) as number) < PROBE_EVERY_MS) continue;
      awaiting.add(session);
      const unanswered = setTimeout(() => session.destroy(), ANSWER_WITHIN_MS);
      unanswered.unref();
      try {
        session.ping((error) => {
          clearTimeout(unanswered);
          awaiting.delete(session);
          if (error === null) lastAnswered.set(session, Date.now());
        });
      } catch {
        clearTimeout(unanswered);
        session.destroy();
      }
    }
  };

  const timer = setInterval(sweep, SWEEP_MS);
  timer.unref();
  return () => clearInterval(timer);
}
