// drizzle-kit's configuration: `make migration NAME=...` generates SQL
// migrations into drizzle/ from src/db/schema.ts.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.ts",
  out: "./drizzle",
});
