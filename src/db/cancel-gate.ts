// PostgreSQL cancels a statement through a connection of its own, opened for
// one CancelRequest and closed by the server once it has signalled the
// backend. When the database stops answering, each such connection stays
// open until postgres.js's cancel_timeout, and a burst of stopped calls would
// open one each. This gate keeps at most `slots` of them open at once: a
// cancel waits for a free slot for at most `maxWaitMs`, and is dropped after
// that, never queued without end. A dropped cancel leaves its statement to
// run to its own bound (its transaction's statement_timeout, or the end of
// the database's silence); whoever waits for it stops waiting at its own
// bound (cancellable-connection.ts).
//
// A slot is held until the cancel resolves, and at most `slotMs`: postgres.js
// closes a cancel connection by cancel_timeout, and a cancel() that has not
// resolved well after that never opened one (as for a COPY FROM STDIN,
// whose cancel() in 4.2.0 neither stops it nor resolves).

/** What can be cancelled: a postgres.js query, whose cancel() resolves once the request has landed. */
export interface Cancellable {
  cancel(): Promise<void>;
}

export type CancelOutcome = "delivered" | "failed" | "dropped";

export interface CancelGate {
  /** Sends `query`'s cancel request once a slot is free; resolves once it has landed, failed, or was dropped. */
  cancel(query: Cancellable): Promise<CancelOutcome>;
  /** Cancel requests on their way now. */
  readonly inFlight: number;
  /** Cancels dropped so far, having waited `maxWaitMs` for a slot. */
  readonly dropped: number;
}

interface Waiting {
  readonly query: Cancellable;
  readonly resolve: (outcome: CancelOutcome) => void;
  readonly timer: NodeJS.Timeout;
}

export function createCancelGate(options: {
  readonly slots: number;
  readonly maxWaitMs: number;
  readonly slotMs: number;
}): CancelGate {
  let inFlight = 0;
  let dropped = 0;
  const waiting: Waiting[] = [];

  function send(query: Cancellable): Promise<CancelOutcome> {
    inFlight += 1;
    let timer: NodeJS.Timeout | undefined;
    const unanswered = new Promise<CancelOutcome>((resolve) => {
      timer = setTimeout(() => resolve("failed"), options.slotMs);
    });
    const sent = query.cancel().then(
      () => "delivered" as const,
      () => "failed" as const,
    );
    return Promise.race([sent, unanswered]).finally(() => {
      clearTimeout(timer);
      inFlight -= 1;
      const next = waiting.shift();
      if (next !== undefined) {
        clearTimeout(next.timer);
        void send(next.query).then(next.resolve);
      }
    });
  }

  return {
    cancel(query) {
      if (inFlight < options.slots) return send(query);
      return new Promise<CancelOutcome>((resolve) => {
        const entry: Waiting = {
          query,
          resolve,
          timer: setTimeout(() => {
            const index = waiting.indexOf(entry);
            if (index === -1) return;
            waiting.splice(index, 1);
            dropped += 1;
            resolve("dropped");
          }, options.maxWaitMs),
        };
        waiting.push(entry);
      });
    },
    get inFlight() {
      return inFlight;
    },
    get dropped() {
      return dropped;
    },
  };
}
