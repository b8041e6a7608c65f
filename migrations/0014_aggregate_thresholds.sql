DROP INDEX "host_thresholds_target_idx";--> statement-breakpoint
ALTER TABLE "host_thresholds" ADD COLUMN "aggregate" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "host_thresholds_target_idx" ON "host_thresholds" USING btree ("workspace_id","target_ip","aggregate");