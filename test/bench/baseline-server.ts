// The baseline: a raw @grpc/grpc-js server with the same ts-proto codecs and
// postgres.js, one query per call, no middleware, no auth, no logs. What the
// product server is measured against. With BASELINE_COALESCE=1, GetProduct
// coalesces the ids asked for in one event-loop turn into one query (as the
// product server does): the ceiling for GetProduct.
// Usage: DATABASE_URL=... baseline-server.ts  (prints {"port": N} when listening)
import {
  Server,
  ServerCredentials,
  status,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
} from "@grpc/grpc-js";
import postgres from "postgres";
import { productGrpcDefinition } from "./grpc-definition";

const sql = postgres(process.env.DATABASE_URL as string, { max: 10, onnotice: () => undefined });

interface Row {
  id: string;
  name: string;
  price: number;
  category: string;
  in_stock: boolean;
  created_at: Date;
  tags: string[];
}
const toProduct = (row: Row) => ({
  id: row.id,
  name: row.name,
  price: row.price,
  category: row.category,
  inStock: row.in_stock,
  createdAt: row.created_at,
  tags: row.tags,
});

/** One row by id: a query per call, or, coalescing, one query per event-loop turn for every id asked for in it. */
const readProduct: (id: string) => Promise<Row | undefined> =
  process.env.BASELINE_COALESCE === "1"
    ? (() => {
        type Waiter = { resolve: (row: Row | undefined) => void; reject: (error: unknown) => void };
        let turn: Map<string, Waiter[]> | undefined;
        return (id) =>
          new Promise((resolve, reject) => {
            if (turn === undefined) {
              const ids = (turn = new Map<string, Waiter[]>());
              setImmediate(() => {
                turn = undefined;
                sql<Row[]>`SELECT * FROM products WHERE id = ANY(${[...ids.keys()]}::uuid[])`.then(
                  (rows) => {
                    const byId = new Map(rows.map((row) => [row.id, row]));
                    for (const [key, waiters] of ids) for (const waiter of waiters) waiter.resolve(byId.get(key));
                  },
                  (error: unknown) => {
                    for (const waiters of ids.values()) for (const waiter of waiters) waiter.reject(error);
                  },
                );
              });
            }
            const waiters = turn.get(id);
            if (waiters === undefined) turn.set(id, [{ resolve, reject }]);
            else waiters.push({ resolve, reject });
          });
      })()
    : async (id) => (await sql<Row[]>`SELECT * FROM products WHERE id = ${id}`)[0];

const server = new Server();
server.addService(productGrpcDefinition, {
  getProduct(call: ServerUnaryCall<{ id: string }, unknown>, callback: sendUnaryData<unknown>) {
    readProduct(call.request.id).then(
      (row) =>
        row === undefined ? callback({ code: status.NOT_FOUND, details: "not found" }) : callback(null, toProduct(row)),
      () => callback({ code: status.INTERNAL, details: "internal" }),
    );
  },
  createProduct(
    call: ServerUnaryCall<{ name: string; price: number; categoryId: string; tags: string[] }, unknown>,
    callback: sendUnaryData<unknown>,
  ) {
    const { name, price, categoryId, tags } = call.request;
    sql<
      Row[]
    >`INSERT INTO products (name, price, category, tags) VALUES (${name}, ${price}, ${categoryId}, ${tags}) RETURNING *`.then(
      ([row]) => callback(null, toProduct(row as Row)),
      () => callback({ code: status.INTERNAL, details: "internal" }),
    );
  },
  async listProducts(call: ServerWritableStream<{ category?: string }, unknown>) {
    try {
      const cursor = sql<
        Row[]
      >`SELECT * FROM products WHERE category = ${call.request.category ?? ""} ORDER BY created_at, id`.cursor(1_000);
      for await (const rows of cursor) {
        for (const row of rows) {
          if (!call.write(toProduct(row))) await new Promise((resolve) => call.once("drain", resolve));
        }
      }
      call.end();
    } catch {
      call.destroy(Object.assign(new Error("internal"), { code: status.INTERNAL }));
    }
  },
});
server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
process.on("SIGTERM", () => {
  server.forceShutdown();
  void sql.end().then(() => process.exit(0));
});
