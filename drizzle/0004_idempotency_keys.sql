CREATE TABLE "idempotency_keys" (
	"request_id" uuid PRIMARY KEY NOT NULL,
	"fingerprint" "bytea" NOT NULL,
	"response" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "idempotency_keys_expires_at_idx" ON "idempotency_keys" USING btree ("expires_at");