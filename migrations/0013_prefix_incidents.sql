ALTER TABLE "incidents" ALTER COLUMN "node_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "incidents" ADD COLUMN "scope" text DEFAULT 'host' NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "incidents_open_prefix_idx" ON "incidents" USING btree ("workspace_id","target_ip") WHERE "incidents"."scope" = 'prefix' and "incidents"."status" = 'open';