// Seeds products with deterministic ids (uuid from the row number), with
// COPY, so every run and both servers see the same data.
import type { Sql } from "postgres";

/** The id of the n-th seeded product: deterministic, valid UUID v4 layout. */
export function seededId(n: number): string {
  const hex = n.toString(16).padStart(12, "0");
  return `00000000-0000-4000-8000-${hex}`;
}

export interface SeedPlan {
  /** Rows per category name. */
  readonly categories: Record<string, number>;
}

/** Inserts the plan's rows with COPY; ids are numbered from `firstId`. Returns the next free number. */
export async function seed(sql: Sql, plan: SeedPlan, firstId = 0): Promise<number> {
  let n = firstId;
  for (const [category, count] of Object.entries(plan.categories)) {
    const writable = await sql`COPY products (id, name, price, category, tags) FROM STDIN`.writable();
    const chunk: string[] = [];
    const flush = async () => {
      if (!writable.write(chunk.join(""))) await new Promise((resolve) => writable.once("drain", resolve));
      chunk.length = 0;
    };
    for (let i = 0; i < count; i += 1, n += 1) {
      chunk.push(`${seededId(n)}\tproduct ${n}\t${(n % 1000) + 0.99}\t${category}\t{bench,t${n % 7}}\n`);
      if (chunk.length === 5_000) await flush();
    }
    await flush();
    await new Promise<void>((resolve, reject) =>
      writable.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }
  return n;
}
