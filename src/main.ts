// The process entry: configuration, database, migrations, server, signals.
// Everything it wires together is built by factories that tests call directly.
import { ServerCredentials } from "@grpc/grpc-js";
import { ConfigError, loadConfig } from "./config";
import { openDatabase } from "./db/client";
import { migrateDatabase } from "./db/migrate";
import { createLogger } from "./logger";
import { createServer, setServing } from "./server";

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);

  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolMax: config.databasePoolMax });
  await migrateDatabase(database);
  logger.info({ backend: database.backend }, "database ready");

  const { server, health, close } = await createServer({
    database,
    logger,
    reflection: config.reflection,
    limits: { batchMaxItems: config.batchMaxItems, watchMaxIds: config.watchMaxIds },
    deadlines: { defaultMs: config.defaultDeadlineMs, maxMs: config.maxDeadlineMs },
  });
  const port = await server.listen(`${config.host}:${config.port}`, ServerCredentials.createInsecure());
  setServing(health, true);
  logger.info({ host: config.host, port }, "listening");

  const stop = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    setServing(health, false);
    await server.shutdown();
    await close();
    await database.close();
    process.exit(0);
  };
  process.once("SIGTERM", (signal) => void stop(signal));
  process.once("SIGINT", (signal) => void stop(signal));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
