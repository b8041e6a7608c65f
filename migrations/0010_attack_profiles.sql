CREATE TABLE "node_profiles" (
	"node_id" integer PRIMARY KEY NOT NULL,
	"profile_id" text NOT NULL,
	"suite" text NOT NULL,
	"rollout_id" bigint,
	"applied_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "profile_rollout_nodes" (
	"rollout_id" bigint NOT NULL,
	"node_id" integer NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"detail" text,
	"command_workflow_id" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "profile_rollout_nodes_rollout_id_node_id_pk" PRIMARY KEY("rollout_id","node_id")
);
--> statement-breakpoint
CREATE TABLE "profile_rollouts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"uuid" uuid DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" integer NOT NULL,
	"action" text NOT NULL,
	"profile_id" text,
	"suite" text,
	"custom_rules" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"target" jsonb NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"workflow_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "profile_rollouts_uuid_unique" UNIQUE("uuid")
);
--> statement-breakpoint
ALTER TABLE "node_profiles" ADD CONSTRAINT "node_profiles_node_id_nodes_id_fk" FOREIGN KEY ("node_id") REFERENCES "public"."nodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "node_profiles" ADD CONSTRAINT "node_profiles_rollout_id_profile_rollouts_id_fk" FOREIGN KEY ("rollout_id") REFERENCES "public"."profile_rollouts"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "profile_rollout_nodes" ADD CONSTRAINT "profile_rollout_nodes_rollout_id_profile_rollouts_id_fk" FOREIGN KEY ("rollout_id") REFERENCES "public"."profile_rollouts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "profile_rollout_nodes" ADD CONSTRAINT "profile_rollout_nodes_node_id_nodes_id_fk" FOREIGN KEY ("node_id") REFERENCES "public"."nodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "profile_rollouts" ADD CONSTRAINT "profile_rollouts_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "profile_rollouts_ws_idx" ON "profile_rollouts" USING btree ("workspace_id","id");