// The database schema, in Drizzle. drizzle-kit generates the migrations in
// drizzle/ from this file (`make migration NAME=...`); the column names are
// part of the runtime contract (operators and the benchmark query them).
import { sql } from "drizzle-orm";
import { boolean, check, doublePrecision, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

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
    tags: text("tags").array().notNull().default(sql`'{}'::text[]`),
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
