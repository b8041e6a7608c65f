CREATE TABLE "route_repairs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"adapter_id" integer NOT NULL,
	"rule_id" bigint,
	"kind" text NOT NULL,
	"route_key" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "mitigation_adapters" ADD COLUMN "reconciled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "mitigation_adapters" ADD COLUMN "reconcile_error" text;--> statement-breakpoint
ALTER TABLE "route_repairs" ADD CONSTRAINT "route_repairs_adapter_id_mitigation_adapters_id_fk" FOREIGN KEY ("adapter_id") REFERENCES "public"."mitigation_adapters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "route_repairs" ADD CONSTRAINT "route_repairs_rule_id_mitigation_rules_id_fk" FOREIGN KEY ("rule_id") REFERENCES "public"."mitigation_rules"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "route_repairs_rule_idx" ON "route_repairs" USING btree ("rule_id","id");--> statement-breakpoint
CREATE INDEX "route_repairs_adapter_idx" ON "route_repairs" USING btree ("adapter_id","id");