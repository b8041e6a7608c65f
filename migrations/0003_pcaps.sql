CREATE TABLE "pcap_chunks" (
	"pcap_id" bigint NOT NULL,
	"offset" bigint NOT NULL,
	"data" "bytea" NOT NULL,
	CONSTRAINT "pcap_chunks_pcap_id_offset_pk" PRIMARY KEY("pcap_id","offset")
);
--> statement-breakpoint
CREATE TABLE "pcaps" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"workspace_id" integer NOT NULL,
	"node_id" integer NOT NULL,
	"incident_id" bigint NOT NULL,
	"sha256" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"received_bytes" bigint DEFAULT 0 NOT NULL,
	"status" text DEFAULT 'uploading' NOT NULL,
	"captured_at" timestamp with time zone NOT NULL,
	"analysis" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "pcap_chunks" ADD CONSTRAINT "pcap_chunks_pcap_id_pcaps_id_fk" FOREIGN KEY ("pcap_id") REFERENCES "public"."pcaps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pcaps" ADD CONSTRAINT "pcaps_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pcaps" ADD CONSTRAINT "pcaps_node_id_nodes_id_fk" FOREIGN KEY ("node_id") REFERENCES "public"."nodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pcaps" ADD CONSTRAINT "pcaps_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "pcaps_incident_sha_idx" ON "pcaps" USING btree ("incident_id","sha256");--> statement-breakpoint
CREATE INDEX "pcaps_ws_captured_idx" ON "pcaps" USING btree ("workspace_id","captured_at");