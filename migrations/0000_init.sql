CREATE TABLE "allowlist_entries" (
	"id" serial PRIMARY KEY NOT NULL,
	"workspace_id" integer NOT NULL,
	"ip_address" text NOT NULL,
	"label" text,
	"scope" text DEFAULT 'workspace' NOT NULL,
	"node_uuid" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "allowlist_scope_node_check" CHECK (("allowlist_entries"."scope" = 'node') = ("allowlist_entries"."node_uuid" is not null))
);
--> statement-breakpoint
CREATE TABLE "deploy_tokens" (
	"id" serial PRIMARY KEY NOT NULL,
	"workspace_id" integer NOT NULL,
	"token_hash" text NOT NULL,
	"prefix" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "deploy_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "mitigation_adapters" (
	"id" serial PRIMARY KEY NOT NULL,
	"workspace_id" integer NOT NULL,
	"adapter_type" text NOT NULL,
	"name" text NOT NULL,
	"endpoint" text NOT NULL,
	"auth_token_enc" text,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"capabilities" jsonb DEFAULT '["blackhole"]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "mitigation_rules" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"workspace_id" integer NOT NULL,
	"adapter_id" integer NOT NULL,
	"target_ip" text NOT NULL,
	"intent_type" text NOT NULL,
	"intent" jsonb NOT NULL,
	"route_key" text NOT NULL,
	"ttl" integer NOT NULL,
	"reason" text,
	"status" text DEFAULT 'pending' NOT NULL,
	"status_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"announced_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	CONSTRAINT "mitigation_rules_ttl_check" CHECK ("mitigation_rules"."ttl" >= 0)
);
--> statement-breakpoint
-- UNLOGGED (edited by hand; drizzle-kit does not express it): counters need no WAL, so
-- counting a request costs no fsync; a database crash merely resets the windows.
CREATE UNLOGGED TABLE "rate_limit_windows" (
	"token_id" integer NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"count" integer NOT NULL,
	CONSTRAINT "rate_limit_windows_token_id_window_start_pk" PRIMARY KEY("token_id","window_start")
);
--> statement-breakpoint
CREATE TABLE "workspaces" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"subscription_status" text DEFAULT 'active' NOT NULL,
	"rate_limit_per_minute" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workspaces_name_unique" UNIQUE("name")
);
--> statement-breakpoint
ALTER TABLE "allowlist_entries" ADD CONSTRAINT "allowlist_entries_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deploy_tokens" ADD CONSTRAINT "deploy_tokens_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mitigation_adapters" ADD CONSTRAINT "mitigation_adapters_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mitigation_rules" ADD CONSTRAINT "mitigation_rules_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mitigation_rules" ADD CONSTRAINT "mitigation_rules_adapter_id_mitigation_adapters_id_fk" FOREIGN KEY ("adapter_id") REFERENCES "public"."mitigation_adapters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rate_limit_windows" ADD CONSTRAINT "rate_limit_windows_token_id_deploy_tokens_id_fk" FOREIGN KEY ("token_id") REFERENCES "public"."deploy_tokens"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "allowlist_ws_idx" ON "allowlist_entries" USING btree ("workspace_id");--> statement-breakpoint
CREATE UNIQUE INDEX "allowlist_unique_idx" ON "allowlist_entries" USING btree ("workspace_id","ip_address","scope",coalesce("node_uuid", '00000000-0000-0000-0000-000000000000'));--> statement-breakpoint
CREATE INDEX "deploy_tokens_prefix_idx" ON "deploy_tokens" USING btree ("prefix");--> statement-breakpoint
CREATE INDEX "mitigation_adapters_ws_idx" ON "mitigation_adapters" USING btree ("workspace_id");--> statement-breakpoint
CREATE INDEX "mitigation_rules_ws_status_idx" ON "mitigation_rules" USING btree ("workspace_id","status");--> statement-breakpoint
CREATE INDEX "mitigation_rules_adapter_idx" ON "mitigation_rules" USING btree ("adapter_id");--> statement-breakpoint
CREATE UNIQUE INDEX "mitigation_rules_live_route_idx" ON "mitigation_rules" USING btree ("adapter_id","route_key") WHERE "mitigation_rules"."status" in ('pending', 'active', 'withdrawing');