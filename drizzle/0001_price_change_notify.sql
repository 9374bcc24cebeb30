-- Publishes every price change on the "product_price_changed" channel, from
-- whatever path made it (the service, another replica, a plain SQL UPDATE),
-- so that every replica LISTENing can tell its WatchPrices streams.
-- The payload is JSON: {"id": uuid, "price": number, "updated_at_ms": number}.
CREATE FUNCTION "products_notify_price_change"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify(
		'product_price_changed',
		json_build_object(
			'id', NEW.id,
			'price', NEW.price,
			'updated_at_ms', floor(extract(epoch FROM clock_timestamp()) * 1000)
		)::text
	);
	RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "products_price_change_notify"
	AFTER UPDATE OF "price" ON "products"
	FOR EACH ROW
	WHEN (OLD.price IS DISTINCT FROM NEW.price)
	EXECUTE FUNCTION "products_notify_price_change"();
