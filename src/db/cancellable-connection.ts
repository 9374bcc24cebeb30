// The statements one piece of work runs on a connection of its own (a
// reserved connection, or a transaction's), cancelled when the work stops.
//
// PostgreSQL cancels with a CancelRequest sent on a separate connection, and
// it interrupts whatever the target backend runs when it arrives; postgres.js
// pipelines queries on a connection and hands a connection on as soon as its
// queries are done. So a cancel sent for one piece of work could stop
// another's statement, unless the connection runs nothing else until the
// cancel has landed. Here, once the signal aborts, no new statement is sent,
// and quiet() resolves only when every statement has settled and every
// cancel sent has landed (postgres.js's cancel() resolves once PostgreSQL
// has closed the cancel connection, which it does after signalling the
// backend); the owner hands the connection on only then. A backend that gets
// the signal while idle discards it, so the cancel stops this work's
// statement or nothing.
//
// Cancels go through the gate (cancel-gate.ts), which may drop one. A
// statement still unanswered `abandonAfterMs` after the abort (its cancel
// was dropped, the database stopped answering, or it is a COPY, which
// postgres.js 4.2.0 cannot cancel) is given up on: run() rejects with
// StatementOutcomeUnknownError, and the connection stays with the statement
// until it settles.
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ISql, Sql } from "postgres";
import type { CancelGate } from "./cancel-gate";
import { sendCancellable } from "./cancel-while-describing";
import { sendOn, type AnyQuery, type DriverClient } from "./drizzle-client";
import { isConnectionError } from "../shared/database-errors";
import { StatementOutcomeUnknownError } from "./statement-errors";

export interface CancellableConnection {
  /** Sends statements on the connection, watched. */
  readonly client: DriverClient;
  /** Runs `work` (which sends its statements through `client`), giving up on it as described above. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** True once run() gave up on a statement that is still unanswered. */
  readonly abandoned: boolean;
  /** Resolves once no statement is in flight and every cancel sent has landed (or was dropped). */
  quiet(): Promise<void>;
}

export interface CancellableOptions {
  /** The pool's options, which Drizzle reads through the client. */
  readonly driverOptions: Sql["options"];
  readonly signal: AbortSignal;
  readonly gate: CancelGate;
  /** How long after the abort an unanswered statement is waited for. */
  readonly abandonAfterMs: number;
  /** Sees every statement that failed (the reachability gate looks for lost connections). */
  readonly onFailure: (error: unknown) => void;
}

export function cancellableConnection(connection: ISql, options: CancellableOptions): CancellableConnection {
  const { signal } = options;
  const inFlight = new Map<AnyQuery, Promise<void>>();
  const cancels: Promise<unknown>[] = [];
  /** A statement was sent and its connection lost: whether it ran is unknown. */
  let lost = false;
  let abandoned = false;
  let abandonTimer: NodeJS.Timeout | undefined;
  let giveUp: ((error: Error) => void) | undefined;

  const onAbort = () => {
    for (const query of inFlight.keys()) cancels.push(options.gate.cancel(query));
    if (inFlight.size === 0) return;
    abandonTimer = setTimeout(() => {
      if (inFlight.size === 0) return;
      abandoned = true;
      giveUp?.(new StatementOutcomeUnknownError({ cause: signal.reason }));
    }, options.abandonAfterMs);
  };
  signal.addEventListener("abort", onAbort, { once: true });

  /** Keeps `query` in flight until `settles` does, and learns from how it failed. */
  function watch(query: AnyQuery, settles: () => Promise<unknown>): void {
    let settled!: () => void;
    inFlight.set(query, new Promise<void>((resolve) => (settled = resolve)));
    settles().then(
      () => {
        inFlight.delete(query);
        settled();
      },
      (error: unknown) => {
        lost ||= isConnectionError(error);
        inFlight.delete(query);
        settled();
        options.onFailure(error);
      },
    );
  }

  const client: DriverClient = {
    options: options.driverOptions,
    // Drizzle asks for named statements ({ prepare: true }) where it prepares them; they go out unnamed.
    unsafe(query, params) {
      signal.throwIfAborted();
      const pending = sendCancellable(connection, query, params);
      // postgres.js sends a query when it is awaited; Drizzle sets it up
      // (.values()) synchronously first, so watch it only after that.
      queueMicrotask(() => watch(pending, () => pending));
      return pending;
    },
    async copyIn(statement, chunks) {
      signal.throwIfAborted();
      const copy = sendOn(connection, statement);
      // The query resolves with the stream as soon as the server is ready for
      // rows; COPY is done when the stream has finished (the server took every
      // row) or failed (it refused one).
      const copying = (async () => {
        await pipeline(Readable.from(chunks), await copy.writable());
      })();
      watch(copy, () => copying);
      await copying;
    },
  };

  return {
    client,
    get abandoned() {
      return abandoned;
    },
    async run<T>(work: () => Promise<T>): Promise<T> {
      const given = new Promise<never>((_, reject) => (giveUp = reject));
      const working = work();
      // Whichever loses the race is settled by nobody else.
      working.catch(() => undefined);
      given.catch(() => undefined);
      try {
        return await Promise.race([working, given]);
      } catch (error) {
        if (lost && !(error instanceof StatementOutcomeUnknownError))
          throw new StatementOutcomeUnknownError({ cause: error });
        throw error;
      }
    },
    async quiet() {
      signal.removeEventListener("abort", onAbort);
      await Promise.all(inFlight.values());
      await Promise.all(cancels);
      clearTimeout(abandonTimer);
    },
  };
}
