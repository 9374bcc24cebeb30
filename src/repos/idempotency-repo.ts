// Idempotency keys (AIP-155): runs a keyed write at most once per key, and
// answers its repeats with the answer the write gave.
//
// The key is claimed in the write's own transaction, before the write:
//   INSERT … ON CONFLICT (request_id) DO UPDATE … WHERE the old key expired
// - no row with that key: the claim inserts one, the write runs, the answer
//   is stored beside the key, and all of it commits together, or none of it;
// - a row committed by an earlier write: the claim returns nothing, and the
//   stored answer is read back (or refused, if it answered another request);
// - a row another transaction is writing (a racing duplicate): PostgreSQL
//   makes the claim wait on the primary key until that transaction ends,
//   then it sees the committed row, or claims the key if that one rolled back.
// So a key exists exactly when its write committed, and a failed write leaves
// nothing behind to block its retry.
import { eq, sql } from "drizzle-orm";
import type { CallConnection, DatabaseHandle, WorkScope } from "../db/client";
import { idempotencyKeys } from "../db/schema";
import { InvalidArgumentError, Reason } from "../shared/errors";
import { asWrite } from "./write-outcome";

/** A keyed write: its key, and a digest of what it asks (the request without its key). */
export interface IdempotencyKey {
  readonly requestId: string;
  readonly fingerprint: Uint8Array;
}

/** How the answer of a keyed write is kept: proto encode and decode. */
export interface AnswerCodec<Answer> {
  encode(answer: Answer): Uint8Array;
  decode(bytes: Uint8Array): Answer;
}

export interface IdempotencyOptions {
  /** How long a key and its answer are kept. */
  readonly retentionMs: number;
  /** Rows deleted per statement by the sweep, so no sweep holds locks for long. */
  readonly sweepBatchSize?: number;
}

export type WriteRunner = ReturnType<typeof createWriteRunner>;

const EMPTY = new Uint8Array(0);

export function createWriteRunner(database: DatabaseHandle, options: IdempotencyOptions) {
  const sweepBatchSize = options.sweepBatchSize ?? 1_000;

  const claim = database.prepare((db) =>
    db
      .insert(idempotencyKeys)
      .values({
        requestId: sql.placeholder("requestId"),
        fingerprint: sql.placeholder("fingerprint"),
        response: EMPTY,
        expiresAt: sql`now() + ${sql.placeholder("retentionMs")}::bigint * interval '1 millisecond'`,
      })
      .onConflictDoUpdate({
        target: idempotencyKeys.requestId,
        set: {
          fingerprint: sql`excluded.fingerprint`,
          response: EMPTY,
          createdAt: sql`now()`,
          expiresAt: sql`excluded.expires_at`,
        },
        // An expired key is forgotten: its request id starts afresh.
        setWhere: sql`${idempotencyKeys.expiresAt} <= now()`,
      })
      .returning({ requestId: idempotencyKeys.requestId })
      .prepare("idempotency_claim"),
  );
  const lookup = database.prepare((db) =>
    db
      .select({ fingerprint: idempotencyKeys.fingerprint, response: idempotencyKeys.response })
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.requestId, sql.placeholder("requestId")))
      .prepare("idempotency_lookup"),
  );
  const record = database.prepare((db) =>
    db
      .update(idempotencyKeys)
      .set({ response: sql.placeholder("response") as unknown as Uint8Array })
      .where(eq(idempotencyKeys.requestId, sql.placeholder("requestId")))
      .prepare("idempotency_record"),
  );

  /** Runs `write` in the transaction that holds `key`; the stored answer instead when the key was used. */
  async function once<Answer>(
    tx: CallConnection,
    key: IdempotencyKey,
    codec: AnswerCodec<Answer>,
    write: (tx: CallConnection) => Promise<Answer>,
  ): Promise<Answer> {
    const claimed = await tx.execute(claim, {
      requestId: key.requestId,
      fingerprint: key.fingerprint,
      retentionMs: options.retentionMs,
    });
    if (claimed.length === 0) {
      const [stored] = await tx.execute(lookup, { requestId: key.requestId });
      // The row was there a statement ago and keys are deleted only once expired.
      if (stored === undefined) throw new Error("an idempotency key vanished between its claim and its lookup");
      if (!sameBytes(stored.fingerprint, key.fingerprint)) {
        throw new InvalidArgumentError(
          "request_id",
          "was used for a different request; send a new request_id with a new request",
          Reason.REQUEST_ID_REUSED,
        );
      }
      return codec.decode(stored.response);
    }
    const answer = await write(tx);
    await tx.execute(record, { requestId: key.requestId, response: codec.encode(answer) });
    return answer;
  }

  return {
    /**
     * Runs one call's write: with a key, once per key, in a transaction with
     * the key; without one, as `unkeyedIn` says (one transaction, or each
     * statement on its own). A write whose outcome is unknown fails with
     * WriteOutcomeUnknownError.
     */
    run<Answer>(
      scope: WorkScope,
      key: IdempotencyKey | undefined,
      codec: AnswerCodec<Answer>,
      write: (connection: CallConnection) => Promise<Answer>,
      unkeyedIn: "transaction" | "statements" = "statements",
    ): Promise<Answer> {
      if (key !== undefined) return asWrite(database.transaction(scope, (tx) => once(tx, key, codec, write)));
      return asWrite(
        unkeyedIn === "transaction" ? database.transaction(scope, write) : database.withConnection(scope, write),
      );
    },

    /** Deletes expired keys, a batch at a time, as work of no one call; resolves to how many. */
    async sweep(): Promise<number> {
      let deleted = 0;
      for (;;) {
        const rows = await database.db
          .delete(idempotencyKeys)
          .where(
            sql`${idempotencyKeys.requestId} IN (SELECT ${idempotencyKeys.requestId} FROM ${idempotencyKeys} WHERE ${idempotencyKeys.expiresAt} <= now() LIMIT ${sweepBatchSize})`,
          )
          .returning({ requestId: idempotencyKeys.requestId });
        deleted += rows.length;
        if (rows.length < sweepBatchSize) return deleted;
      }
    },
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}
