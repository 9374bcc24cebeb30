// Feeds the price watch hub from PostgreSQL's NOTIFY, and keeps its promise
// through a LISTEN that does not hear (its connection lost, or pointed at a
// transaction pooler, which the data layer finds with a heartbeat): while not
// hearing, the feed says so (health reports ProductService NOT_SERVING) and
// the log says why, and once hearing again it reads the current price of
// every watched product and sends each watcher those that differ from what
// it last had. So after any outage each watcher has the latest price of each
// product it watches; no change is silently lost.
import type { DatabaseHandle } from "../db/client";
import type { Logger } from "pino";
import { listenForPriceChanges } from "../repos/price-changes";
import type { ProductRepo } from "../repos/product-repo";
import type { PriceWatchHub } from "./price-watch-hub";

export interface PriceFeed {
  /** False while changes may be missed (LISTEN does not hear). */
  readonly listening: boolean;
  stop(): Promise<void>;
}

const CATCH_UP_RETRY_MS = 200;

export async function startPriceFeed(options: {
  readonly database: DatabaseHandle;
  readonly products: ProductRepo;
  readonly hub: PriceWatchHub;
  readonly logger: Logger;
  /** Called whenever `listening` changes. */
  readonly onChange: () => void;
}): Promise<PriceFeed> {
  const { products, hub, logger } = options;
  /** Undefined until the first report, which comes before listening starts (and is no change). */
  let listening: boolean | undefined;
  let stopped = false;

  async function catchUp(): Promise<void> {
    while (listening && !stopped) {
      const pending = hub.beginCatchUp();
      try {
        const rows = await products.getPricesShared(pending.ids);
        const readAt = new Date();
        pending.finish(rows.map((row) => ({ id: row.id, price: row.price, updatedAt: readAt })));
        logger.info({ products: rows.length }, "price watchers caught up after the LISTEN connection came back");
        return;
      } catch (error) {
        pending.finish([]);
        logger.warn({ err: error }, "price watchers could not catch up yet; retrying");
        await new Promise((resolve) => setTimeout(resolve, CATCH_UP_RETRY_MS));
      }
    }
  }

  const unlisten = await listenForPriceChanges(
    options.database,
    (change) => hub.publish(change),
    (payload) => logger.error({ payload }, "unreadable price change notification"),
    (now, reason) => {
      if (now === listening) return;
      const first = listening === undefined;
      listening = now;
      if (!now) logger.warn({ reason }, "not hearing price changes: they may be missed until LISTEN hears again");
      if (first) return;
      if (now) void catchUp();
      options.onChange();
    },
  );

  return {
    get listening() {
      return listening === true;
    },
    async stop() {
      stopped = true;
      await unlisten();
    },
  };
}
