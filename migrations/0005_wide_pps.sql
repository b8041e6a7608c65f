ALTER TABLE "node_metrics" ALTER COLUMN "pps" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "nodes" ALTER COLUMN "last_pps" SET DATA TYPE bigint;