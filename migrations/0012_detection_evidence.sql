ALTER TABLE "incidents" ADD COLUMN "verdict" text DEFAULT 'inconclusive' NOT NULL;--> statement-breakpoint
ALTER TABLE "incidents" ADD COLUMN "evidence" text DEFAULT 'counters' NOT NULL;--> statement-breakpoint
-- Incidents before verdicts: a named family was taken for an attack; a classification with packets came from a capture.
UPDATE "incidents" SET "verdict" = CASE WHEN "family" = 'unknown' THEN 'inconclusive' ELSE 'attack' END, "evidence" = CASE WHEN coalesce(("classification"->>'packets')::bigint, 0) > 0 THEN 'capture' ELSE 'counters' END;--> statement-breakpoint
-- The reference's vocabulary (domain/attack.ts LEGACY_FAMILIES): ack/rst floods are TCP floods, amplification is a UDP flood.
UPDATE "incidents" SET "subtype" = CASE "family" WHEN 'ack_flood' THEN 'ack' WHEN 'rst_flood' THEN 'rst' ELSE coalesce("subtype" || '_amplification', 'amplification') END, "family" = CASE "family" WHEN 'amplification' THEN 'udp_flood' ELSE 'tcp_flood' END WHERE "family" IN ('ack_flood', 'rst_flood', 'amplification');--> statement-breakpoint
UPDATE "incidents" SET "subtype" = replace(replace("subtype", 'ack_flood', 'tcp_flood'), 'rst_flood', 'tcp_flood') WHERE "family" = 'multi_vector' AND "subtype" IS NOT NULL;--> statement-breakpoint
UPDATE "incidents" SET "classification" = "classification" || jsonb_build_object('family', "family", 'subtype', "subtype") WHERE "classification" IS NOT NULL;--> statement-breakpoint
UPDATE "runbooks" SET "trigger_conditions" = jsonb_set("trigger_conditions", '{family}', CASE jsonb_typeof("trigger_conditions"->'family')
  WHEN 'array' THEN (SELECT jsonb_agg(DISTINCT CASE f WHEN 'ack_flood' THEN 'tcp_flood' WHEN 'rst_flood' THEN 'tcp_flood' WHEN 'amplification' THEN 'udp_flood' ELSE f END) FROM jsonb_array_elements_text("trigger_conditions"->'family') AS f)
  ELSE to_jsonb(CASE "trigger_conditions"->>'family' WHEN 'ack_flood' THEN 'tcp_flood' WHEN 'rst_flood' THEN 'tcp_flood' WHEN 'amplification' THEN 'udp_flood' ELSE "trigger_conditions"->>'family' END) END)
WHERE "trigger_conditions" ? 'family';
