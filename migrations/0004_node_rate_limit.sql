-- UNLOGGED (edited by hand; drizzle-kit does not express it): counters need no WAL.
CREATE UNLOGGED TABLE "node_rate_limit_windows" (
	"node_id" integer NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"count" integer NOT NULL,
	CONSTRAINT "node_rate_limit_windows_node_id_window_start_pk" PRIMARY KEY("node_id","window_start")
);
--> statement-breakpoint
ALTER TABLE "node_rate_limit_windows" ADD CONSTRAINT "node_rate_limit_windows_node_id_nodes_id_fk" FOREIGN KEY ("node_id") REFERENCES "public"."nodes"("id") ON DELETE cascade ON UPDATE no action;