// A rule as the API answers it (GET /mitigation/rules, an incident's rules).
import type { z } from '@hono/zod-openapi';
import type { RuleRow } from '../../db/rules.js';
import { flowActionJson, flowMatchJson } from '../../domain/intent.js';
import { ruleWorkflowId } from '../../workflows/rule.contract.js';
import type { RuleSchema } from '../schemas/rules.js';
import { iso } from './time.js';

export function ruleJson(r: RuleRow): z.infer<typeof RuleSchema> {
  const i = r.intent;
  return {
    id: r.id,
    target_ip: r.targetIp,
    intent_type: r.intentType,
    adapter_id: r.adapterId,
    scrubbing_id: r.scrubbingId,
    status: r.status,
    ttl: r.ttl,
    reason: r.reason,
    status_reason: r.statusReason,
    match: i.kind === 'flowspec' ? flowMatchJson(i.match) : null,
    action: i.kind === 'flowspec' ? flowActionJson(i.action) : null,
    communities: i.kind === 'blackhole' ? i.communities : null,
    next_hop: i.kind === 'blackhole' ? i.nextHop : null,
    workflow_id: r.workflowId ?? ruleWorkflowId(r.id),
    created_at: iso(r.createdAt),
    announced_at: iso(r.announcedAt),
    expires_at: iso(r.expiresAt),
    ended_at: iso(r.endedAt),
  };
}
