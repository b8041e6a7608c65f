// Carpet bombing, detected where the nodes' metrics meet: after each batch, every prefix
// with an aggregate threshold that contains the node is summed over its nodes; crossing it
// opens the prefix's one incident (its escalation then works as a host's, on the prefix),
// staying over it feeds the incident's figures, and falling under the hysteresis resolves it.
import { endEscalation, triggerEscalation } from '../clients/incident.js';
import { loadPolicy } from '../db/escalation.js';
import { resolveIncident, updateIncidentFigures } from '../db/incidents.js';
import { findOpenPrefixIncident, openPrefixIncident, prefixLoad, prefixNodes, watchedPrefixes } from '../db/prefix-incidents.js';
import type { nodes } from '../db/schema.js';
import { aggregateTiers, severityFor, tierFor, type Tier } from '../domain/escalation.js';
import type { AppDeps } from './context.js';

/** The attack goes on while the prefix stays above this share of its lowest threshold (as the agent's detector). */
const HYSTERESIS = 0.7;
const scaled = (tiers: Tier[], f: number): Tier[] => tiers.map((t) => ({ ...t, pps: t.pps === null ? null : t.pps * f, bps: t.bps === null ? null : t.bps * f }));

export async function watchPrefixes(deps: AppDeps, node: typeof nodes.$inferSelect): Promise<void> {
  const { db } = deps;
  const ws = node.workspaceId;
  const watched = await watchedPrefixes(db, ws, node.ip);
  if (watched.length === 0) return;
  const { policy } = await loadPolicy(db, ws);
  for (const aggregate of watched) {
    const prefix = aggregate.target;
    const tiers = aggregateTiers(policy, aggregate);
    const [load, open] = await Promise.all([prefixNodes(db, ws, prefix).then(prefixLoad), findOpenPrefixIncident(db, ws, prefix)]);
    const figures = { pps: load.pps, bps: load.bps };
    if (!open) {
      // One node over the prefix's threshold is that node's attack, which its agent reports:
      // carpet bombing is spread over several.
      const reached = tierFor(tiers, figures);
      if (load.nodes < 2 || reached === 0) continue;
      const { incident, opened } = await openPrefixIncident(db, ws, prefix, load, severityFor(reached));
      await triggerEscalation(deps, incident.id, opened ? figures : { pps: incident.currentPps, bps: incident.currentBps });
    } else if (tierFor(scaled(tiers, HYSTERESIS), figures) === 0) {
      await resolveIncident(db, open, null, `the nodes of ${prefix} together fell below ${Math.round(HYSTERESIS * 100)} % of its threshold; mitigation steps down after the hold-down`);
      await endEscalation(deps, open.id, true);
    } else {
      await updateIncidentFigures(db, open, figures, null);
      await triggerEscalation(deps, open.id, figures);
    }
  }
}
