// Operations the control plane asks an agent to perform on its host: typed, validated
// arguments, never shell strings. Their definition is the agent protocol's
// (domain/agent-protocol.ts); this module names them for the code that issues them
// (workflows import it, and it pulls in no zod at run time).
export type { DeliveredCommand, NodeCommand, NodeCommandResult } from './agent-protocol.js';

/** The rule set geo lockdown installs on a node. */
export const GEO_LOCKDOWN_RULESET = 'geo_lockdown';
