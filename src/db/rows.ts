// The rows of a raw `db.execute(sql…)`, whichever driver ran it: postgres.js
// returns them as the result itself, PGlite wraps them in `{ rows }`.
export function rowsOf<Row>(result: unknown): Row[] {
  return (Array.isArray(result) ? result : (result as { rows: Row[] }).rows) as Row[];
}
