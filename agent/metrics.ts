// The agent's figures in the Prometheus text format, served at /metrics on its loopback
// health endpoint. A handful of gauges and counters, written by hand: no metrics library in
// the agent.
import type { RunnerStatus } from './runner.js';

export interface AgentFigures {
  status: RunnerStatus;
  /** The rolling capture (tcpdump) runs now. */
  rollingCapture: boolean;
  pcapsPending: number;
  pcapsUploaded: number;
}

type Metric = { name: string; type: 'gauge' | 'counter'; help: string; value: number };

/** One line per figure, with its HELP and TYPE: text format 0.0.4. */
export function renderAgentMetrics(f: AgentFigures): string {
  const s = f.status;
  const metrics: Metric[] = [
    { name: 'bulwark_agent_pps', type: 'gauge', help: 'Inbound packets per second in the last sample', value: s.lastSample?.pps ?? 0 },
    { name: 'bulwark_agent_bps', type: 'gauge', help: 'Inbound bits per second in the last sample', value: s.lastSample?.bps ?? 0 },
    { name: 'bulwark_agent_last_sample_timestamp_seconds', type: 'gauge', help: 'When the interface counters were last sampled (0: never)', value: (s.lastSample?.atMs ?? 0) / 1000 },
    { name: 'bulwark_agent_samples_total', type: 'counter', help: 'Samples of the interface counters taken since start', value: s.samples },
    { name: 'bulwark_agent_attack', type: 'gauge', help: '1 while the detector sees an attack, else 0', value: s.state === 'attack' ? 1 : 0 },
    { name: 'bulwark_agent_reports_queued', type: 'gauge', help: 'Reports waiting in the outbox for the API', value: s.queued },
    { name: 'bulwark_agent_reports_dropped_total', type: 'counter', help: 'Reports dropped because the outbox was full (oldest metrics first)', value: s.dropped },
    { name: 'bulwark_agent_rolling_capture_running', type: 'gauge', help: '1 while the rolling capture (tcpdump) runs, else 0', value: f.rollingCapture ? 1 : 0 },
    { name: 'bulwark_agent_pcaps_pending', type: 'gauge', help: 'Captures spooled on disk, not yet uploaded', value: f.pcapsPending },
    { name: 'bulwark_agent_pcaps_uploaded_total', type: 'counter', help: 'Captures uploaded completely since start', value: f.pcapsUploaded },
  ];
  return metrics.map((m) => `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} ${m.type}\n${m.name} ${Number.isFinite(m.value) ? m.value : 0}\n`).join('');
}

export const AGENT_METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
