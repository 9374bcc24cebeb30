// The database schema, in Drizzle. drizzle-kit generates the migrations in
// drizzle/ from this file (`make migration NAME=...`); the column names are
// part of the runtime contract (operators and the benchmark query them).
import { sql } from "drizzle-orm";
import {
  boolean,
  check,
  customType,
  doublePrecision,
  index,
  pgTable,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";

export const products = pgTable(
  "products",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull(),
    // double precision, so the double a client sends comes back bit for bit.
    price: doublePrecision("price").notNull(),
    // Empty when the product has no category.
    category: text("category").notNull().default(""),
    inStock: boolean("in_stock").notNull().default(true),
    // Millisecond precision: the most a protobuf client's Date carries, and
    // what keeps a page token's position exact when it round-trips through JS.
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3, mode: "date" }).notNull().defaultNow(),
    tags: text("tags")
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
  },
  (table) => [
    // NaN sorts above every number in Postgres, so `< 'Infinity'` also keeps NaN out.
    check("products_price_not_negative", sql`${table.price} >= 0 AND ${table.price} < 'Infinity'::float8`),
    // ListProducts walks products in (created_at, id) order, over all
    // products or within one category; each order has its own index.
    index("products_created_at_id_idx").on(table.createdAt, table.id),
    index("products_category_created_at_id_idx").on(table.category, table.createdAt, table.id),
  ],
);

export type ProductRow = typeof products.$inferSelect;
export type NewProductRow = typeof products.$inferInsert;

/**
 * Secrets the service keeps in its database so that every replica shares
 * them with no configuration: `page_token` keys the HMAC of ListProducts'
 * page tokens. Migrations create each with a random value.
 */
export const serviceSecrets = pgTable("service_secrets", {
  name: text("name").primaryKey(),
  value: text("value").notNull(),
});

/** bytea, as the bytes both drivers hand back (postgres.js: Buffer; PGlite: Uint8Array). */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => "bytea" });

/**
 * Idempotency keys (AIP-155): each successful keyed write, with a digest of
 * the request it answered and the answer it gave, kept until `expires_at`.
 * The row is written in the write's own transaction, so a key exists exactly
 * when its write committed; a racing duplicate waits on the primary key.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    requestId: uuid("request_id").primaryKey(),
    // SHA-256 of the method and the request without its key.
    fingerprint: bytea("fingerprint").notNull(),
    // The encoded response message.
    response: bytea("response").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }).notNull(),
  },
  // The sweep deletes by expiry.
  (table) => [index("idempotency_keys_expires_at_idx").on(table.expiresAt)],
);
