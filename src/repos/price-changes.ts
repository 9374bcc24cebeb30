// Hears the price changes Postgres publishes. The products_price_change_notify
// trigger (drizzle/0001) NOTIFYs on every price change, whichever path made it,
// so every replica that LISTENs hears every change.
import type { DatabaseHandle, ListeningReport } from "../db/client";

export const PRICE_CHANGE_CHANNEL = "product_price_changed";

export interface PriceChange {
  readonly id: string;
  readonly price: number;
  readonly updatedAt: Date;
}

interface NotifyPayload {
  id: string;
  price: number;
  updated_at_ms: number;
}

/**
 * Subscribes to the channel; resolves once LISTEN is in place and it is known
 * whether it hears, to the function that ends it. `onListening` hears that
 * first, then whenever it stops hearing (and why) and hears again (changes in
 * between were not heard).
 */
export function listenForPriceChanges(
  database: DatabaseHandle,
  onChange: (change: PriceChange) => void,
  onBadPayload: (payload: string) => void,
  onListening?: ListeningReport,
): Promise<() => Promise<void>> {
  return database.listen(
    PRICE_CHANGE_CHANNEL,
    (payload) => {
      let parsed: NotifyPayload;
      try {
        parsed = JSON.parse(payload) as NotifyPayload;
      } catch {
        onBadPayload(payload);
        return;
      }
      onChange({ id: parsed.id, price: parsed.price, updatedAt: new Date(parsed.updated_at_ms) });
    },
    onListening,
  );
}
