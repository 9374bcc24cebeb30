// The baseline: a raw @grpc/grpc-js server with the same ts-proto codecs and
// postgres.js, one query per call, no middleware, no auth, no logs. What the
// product server is measured against.
// Usage: DATABASE_URL=... baseline-server.ts  (prints {"port": N} when listening)
import { Server, ServerCredentials, status, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData } from "@grpc/grpc-js";
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
const toProduct = (row: Row) => ({ id: row.id, name: row.name, price: row.price, category: row.category, inStock: row.in_stock, createdAt: row.created_at, tags: row.tags });

const server = new Server();
server.addService(productGrpcDefinition, {
  getProduct(call: ServerUnaryCall<{ id: string }, unknown>, callback: sendUnaryData<unknown>) {
    sql<Row[]>`SELECT * FROM products WHERE id = ${call.request.id}`.then(
      ([row]) => (row === undefined ? callback({ code: status.NOT_FOUND, details: "not found" }) : callback(null, toProduct(row))),
      () => callback({ code: status.INTERNAL, details: "internal" }),
    );
  },
  createProduct(call: ServerUnaryCall<{ name: string; price: number; categoryId: string; tags: string[] }, unknown>, callback: sendUnaryData<unknown>) {
    const { name, price, categoryId, tags } = call.request;
    sql<Row[]>`INSERT INTO products (name, price, category, tags) VALUES (${name}, ${price}, ${categoryId}, ${tags}) RETURNING *`.then(
      ([row]) => callback(null, toProduct(row as Row)),
      () => callback({ code: status.INTERNAL, details: "internal" }),
    );
  },
  async listProducts(call: ServerWritableStream<{ category?: string }, unknown>) {
    try {
      const cursor = sql<Row[]>`SELECT * FROM products WHERE category = ${call.request.category ?? ""} ORDER BY created_at, id`.cursor(1_000);
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
