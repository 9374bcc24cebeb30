// Feeds the price watch hub from PostgreSQL's NOTIFY, and keeps its promise
// through a lost LISTEN connection: while not listening the feed says so
// (health reports ProductService NOT_SERVING), and once listening again it
// reads the current price of every watched product and sends each watcher
// those that differ from what it last had. So after any outage each watcher
// has the latest price of each product it watches; no change is silently lost.
import type { DatabaseHandle } from "../db/client";
import type { Logger } from "../logger";
import { listenForPriceChanges } from "../repos/price-changes";
import type { ProductRepo } from "../repos/product-repo";
import type { PriceWatchHub } from "./price-watch-hub";

export interface PriceFeed {
  /** False while changes may be missed (the LISTEN connection is down). */
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
  let listening = true;
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
    (now) => {
      if (now === listening) return;
      listening = now;
      if (now) void catchUp();
      else logger.warn("LISTEN connection lost: price changes may be missed until it is back");
      options.onChange();
    },
  );

  return {
    get listening() {
      return listening;
    },
    async stop() {
      stopped = true;
      await unlisten();
    },
  };
}
