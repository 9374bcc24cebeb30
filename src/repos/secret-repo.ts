// Reads the secrets the service keeps in its database (see service_secrets).
import { eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { serviceSecrets } from "../db/schema";

export async function readServiceSecret(db: Database, name: string): Promise<string> {
  const [row] = await db
    .select({ value: serviceSecrets.value })
    .from(serviceSecrets)
    .where(eq(serviceSecrets.name, name));
  if (row === undefined) throw new Error(`service secret "${name}" is missing: have the migrations run?`);
  return row.value;
}
