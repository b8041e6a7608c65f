/** @jsxImportSource hono/jsx */
// An incident's captures on the console: the list (on the incident's page) and one
// capture's forensic analysis (attack vector, sources, ports, the recommended mitigation),
// with the raw file's download. Rendered from the REST API's JSON.
import { Badge, CONSOLE_BASE, Page, Table } from './layout.js';

export interface Pcap {
  id: number;
  node: string;
  incident_id: number;
  size_bytes: number;
  status: string;
  sha256: string;
  captured_at: string;
}

export interface Analysis {
  verdict: string;
  summary: string;
  reasons: string[];
  attack_vector: string;
  confidence: number;
  total_packets: number;
  unique_sources: number;
  top_sources: Array<{ ip: string; packets: number; country: string | null }>;
  top_destination_ports: Array<{ port: number; packets: number }>;
  recommended_mitigation: Record<string, unknown> & { intent_type: string; why: string };
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

export function CaptureList(props: { pcaps: Pcap[] }) {
  if (props.pcaps.length === 0) return <p class="muted">No captures for this incident.</p>;
  return (
    <Table labelledBy="captures" columns={['Capture', 'Size', 'Status', { text: 'Captured', wide: true }, '']}>
      {props.pcaps.map((p) => (
        <tr>
          <td>#{p.id}</td>
          <td class="num">{kib(p.size_bytes)}</td>
          <td>
            <Badge value={p.status} tone={p.status === 'complete' ? 'good' : 'warn'} />
          </td>
          <td class="wide">{p.captured_at.slice(0, 19).replace('T', ' ')}Z</td>
          <td>
            {p.status === 'complete' && (
              <>
                <a href={`${CONSOLE_BASE}/pcaps/${p.id}?incident=${p.incident_id}`}>Analysis</a> · <a href={`${CONSOLE_BASE}/pcaps/${p.id}/download`}>Download</a>
              </>
            )}
          </td>
        </tr>
      ))}
    </Table>
  );
}

export function CapturePage(props: { csrf: string; workspace: string; pcap: Pcap; analysis: Analysis }) {
  const a = props.analysis;
  const { intent_type, why, ...rule } = a.recommended_mitigation;
  return (
    <Page title={`Capture ${props.pcap.id}`} nav="overview" csrf={props.csrf} workspace={props.workspace}>
      <h1>
        Capture #{props.pcap.id} <Badge value={a.verdict} tone={a.verdict === 'attack' ? 'bad' : a.verdict === 'benign' ? 'good' : 'warn'} />
      </h1>
      <p>
        <a href={`${CONSOLE_BASE}/incidents/${props.pcap.incident_id}`}>Incident #{props.pcap.incident_id}</a> ·{' '}
        <a href={`${CONSOLE_BASE}/pcaps/${props.pcap.id}/download`}>Download the capture</a> ({kib(props.pcap.size_bytes)}, sha256 <code>{props.pcap.sha256.slice(0, 16)}…</code>)
      </p>
      <section class="panel">
        <p>{a.summary}</p>
        <ul class="summary">
          <li>
            <strong>{a.attack_vector}</strong> vector
          </li>
          <li>
            <strong>{Math.round(a.confidence * 100)} %</strong> confidence
          </li>
          <li>
            <strong>{a.total_packets}</strong> packets
          </li>
          <li>
            <strong>{a.unique_sources}</strong> sources
          </li>
        </ul>
        {a.reasons.length > 0 && (
          <ul>
            {a.reasons.map((r) => (
              <li>{r}</li>
            ))}
          </ul>
        )}
      </section>
      <h2 id="recommended">Recommended mitigation</h2>
      <section class="panel" aria-labelledby="recommended">
        <p>
          <strong>{intent_type}</strong> — {why}
        </p>
        {Object.keys(rule).length > 0 && <pre>{JSON.stringify(rule, null, 2)}</pre>}
      </section>
      <h2 id="sources">Top sources</h2>
      <Table labelledBy="sources" columns={['Source', 'Country', 'Packets']}>
        {a.top_sources.map((s) => (
          <tr>
            <td>{s.ip}</td>
            <td>{s.country ?? '–'}</td>
            <td class="num">{s.packets}</td>
          </tr>
        ))}
      </Table>
      <h2 id="ports">Top destination ports</h2>
      <Table labelledBy="ports" columns={['Port', 'Packets']}>
        {a.top_destination_ports.map((p) => (
          <tr>
            <td class="num">{p.port}</td>
            <td class="num">{p.packets}</td>
          </tr>
        ))}
      </Table>
    </Page>
  );
}
