-- The key of ListProducts' page-token HMAC: 256 bits from the server's strong
-- random source (gen_random_uuid), made once per database and shared by every
-- replica. Rotating it (UPDATE) invalidates the page tokens in flight.
INSERT INTO "service_secrets" ("name", "value")
VALUES ('page_token', replace(gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text, '-', ''))
ON CONFLICT ("name") DO NOTHING;
