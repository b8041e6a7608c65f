CREATE TABLE "escalation_policies" (
	"workspace_id" integer PRIMARY KEY NOT NULL,
	"policy" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "host_thresholds" (
	"id" serial PRIMARY KEY NOT NULL,
	"workspace_id" integer NOT NULL,
	"target_ip" text NOT NULL,
	"label" text,
	"thresholds" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "incident_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"incident_id" bigint NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"kind" text NOT NULL,
	"message" text NOT NULL,
	"detail" jsonb,
	"dedupe_key" text
);
--> statement-breakpoint
CREATE TABLE "incidents" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"workspace_id" integer NOT NULL,
	"node_id" integer NOT NULL,
	"agent_ref" text NOT NULL,
	"target_ip" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"severity" text NOT NULL,
	"family" text NOT NULL,
	"subtype" text,
	"confidence" double precision,
	"classification" jsonb,
	"current_pps" bigint NOT NULL,
	"current_bps" bigint NOT NULL,
	"peak_pps" bigint NOT NULL,
	"peak_bps" bigint NOT NULL,
	"tier" integer DEFAULT 0 NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"resolved_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "node_metrics" (
	"node_id" integer NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"pps" integer NOT NULL,
	"bps" bigint NOT NULL,
	"protocol_mix" jsonb,
	CONSTRAINT "node_metrics_node_id_at_pk" PRIMARY KEY("node_id","at")
);
--> statement-breakpoint
CREATE TABLE "nodes" (
	"id" serial PRIMARY KEY NOT NULL,
	"uuid" uuid DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" integer NOT NULL,
	"name" text NOT NULL,
	"ip" text NOT NULL,
	"location" text,
	"os" text,
	"interface" text,
	"key_hash" text NOT NULL,
	"traffic_state" text DEFAULT 'normal' NOT NULL,
	"last_seen_at" timestamp with time zone,
	"last_pps" integer,
	"last_bps" bigint,
	"protocol_mix" jsonb,
	"baseline" jsonb,
	"agent_version" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "nodes_uuid_unique" UNIQUE("uuid"),
	CONSTRAINT "nodes_key_hash_unique" UNIQUE("key_hash")
);
--> statement-breakpoint
ALTER TABLE "mitigation_rules" ADD COLUMN "incident_id" bigint;--> statement-breakpoint
ALTER TABLE "escalation_policies" ADD CONSTRAINT "escalation_policies_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "host_thresholds" ADD CONSTRAINT "host_thresholds_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "incident_events" ADD CONSTRAINT "incident_events_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_node_id_nodes_id_fk" FOREIGN KEY ("node_id") REFERENCES "public"."nodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "node_metrics" ADD CONSTRAINT "node_metrics_node_id_nodes_id_fk" FOREIGN KEY ("node_id") REFERENCES "public"."nodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "nodes" ADD CONSTRAINT "nodes_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "host_thresholds_target_idx" ON "host_thresholds" USING btree ("workspace_id","target_ip");--> statement-breakpoint
CREATE INDEX "incident_events_incident_idx" ON "incident_events" USING btree ("incident_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "incident_events_dedupe_idx" ON "incident_events" USING btree ("incident_id","dedupe_key");--> statement-breakpoint
CREATE UNIQUE INDEX "incidents_agent_ref_idx" ON "incidents" USING btree ("node_id","agent_ref");--> statement-breakpoint
CREATE INDEX "incidents_ws_started_idx" ON "incidents" USING btree ("workspace_id","started_at");--> statement-breakpoint
CREATE INDEX "nodes_ws_idx" ON "nodes" USING btree ("workspace_id");--> statement-breakpoint
CREATE UNIQUE INDEX "nodes_ws_name_idx" ON "nodes" USING btree ("workspace_id","name");--> statement-breakpoint
ALTER TABLE "mitigation_rules" ADD CONSTRAINT "mitigation_rules_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE set null ON UPDATE no action;