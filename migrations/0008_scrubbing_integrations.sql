CREATE TABLE "scrubbing_integrations" (
	"id" serial PRIMARY KEY NOT NULL,
	"workspace_id" integer NOT NULL,
	"type" text NOT NULL,
	"name" text NOT NULL,
	"config" jsonb NOT NULL,
	"credentials_enc" text NOT NULL,
	"base_url" text,
	"status" text DEFAULT 'inactive' NOT NULL,
	"status_reason" text,
	"status_changed_at" timestamp with time zone,
	"workflow_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "scrubbing_integrations" ADD CONSTRAINT "scrubbing_integrations_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "scrubbing_integrations_ws_idx" ON "scrubbing_integrations" USING btree ("workspace_id");