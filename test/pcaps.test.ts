// Incident captures: the agent's chunked, resumable, size-capped upload (through the real
// uploader and its spool on disk), and what users read back: list, packets, analysis, download.
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AgentApiClient } from '../agent/api-client.js';
import { PcapUploader } from '../agent/pcap-uploader.js';
import { expectError } from './support/expect-error.js';
import { dnsResponse, ipv4, pcapFile, udp } from './support/packets.js';
import { request, startStack, type Caller, type Stack } from './support/stack.js';

const VICTIM = '203.0.113.60';
let stack: Stack;
let user: { token: string; call: Caller };
let other: { call: Caller };
let key: string;
const agent = (method: string, path: string, body?: unknown) => request(stack.baseUrl, method, path, body, { authorization: `Bearer ${key}` });
const put = (id: number, offset: number, data: Buffer, contentType = 'application/octet-stream') =>
  fetch(`${stack.baseUrl}/api/v1/agent/pcaps/${id}/data?offset=${offset}`, { method: 'PUT', headers: { authorization: `Bearer ${key}`, 'content-type': contentType }, body: new Uint8Array(data) }).then(
    async (r) => ({ status: r.status, body: await r.json() }),
  );
/** The API answers an oversized body before reading it all and closes that connection: a connection of its own. */
const oversized = (id: number, offset: number, size: number) =>
  new Promise<number>((resolve, reject) => {
    const req = httpRequest(`${stack.baseUrl}/api/v1/agent/pcaps/${id}/data?offset=${offset}`, {
      method: 'PUT',
      agent: false,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/octet-stream', 'content-length': size },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end(Buffer.alloc(size));
  });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A DNS reflection sample: 1,000 big replies from port 53, from KP and elsewhere. */
const SOURCES = ['175.45.176.9', '175.45.177.20', '31.6.16.15', '198.51.100.7'];
const dnsCapture = pcapFile(Array.from({ length: 1000 }, (_, i) => ipv4({ src: SOURCES[i % SOURCES.length]!, dst: VICTIM, protocol: 17 }, udp(53, 40000 + (i % 500), dnsResponse(1200)))));

async function openIncident(ref: string) {
  const res = await agent('POST', '/api/v1/agent/incidents', { ref, started_at: new Date().toISOString(), pps: 50_000, bps: 5e8 });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.incident.id as number;
}

beforeAll(async () => {
  stack = await startStack(inject('env'));
  user = await stack.tenant();
  other = await stack.tenant();
  const node = await user.call('POST', '/api/v1/nodes', { name: 'dns-host', ip: VICTIM });
  key = node.body.api_key;
});
afterAll(async () => {
  await stack?.stop();
});

describe('capture upload', () => {
  it('resumes where it stood after the agent dies mid-upload, and the file arrives whole', async () => {
    const incidentId = await openIncident('cap-1');
    const spool = mkdtempSync(join(tmpdir(), 'bwk-spool-'));
    const client = new AgentApiClient({ baseUrl: stack.baseUrl, nodeKey: key });
    const log = () => undefined;

    // The first agent "dies" after two chunks: its spool keeps the capture.
    let sent = 0;
    const dying = {
      flush: () => client.flush(),
      startPcapUpload: client.startPcapUpload.bind(client),
      putPcapChunk: async (id: number, offset: number, data: Buffer) => {
        if (sent === 2) throw new Error('killed');
        sent++;
        return client.putPcapChunk(id, offset, data);
      },
    };
    const first = new PcapUploader(spool, dying, { chunkBytes: 64 * 1024, backoffMs: 60_000, log });
    first.add('cap-1', dnsCapture, new Date());
    await expect.poll(async () => (await user.call('GET', `/api/v1/pcaps?incident_id=${incidentId}`)).body.pcaps[0]?.received_bytes, { timeout: 10_000 }).toBe(128 * 1024);
    first.stop();
    expect((await user.call('GET', `/api/v1/pcaps?incident_id=${incidentId}`)).body.pcaps[0]).toMatchObject({ status: 'uploading', size_bytes: dnsCapture.length });

    // A new agent on the same spool sends only what is missing.
    let resumedFrom = -1;
    const second = new PcapUploader(
      spool,
      {
        flush: () => client.flush(),
        startPcapUpload: client.startPcapUpload.bind(client),
        putPcapChunk: (id, offset, data) => {
          if (resumedFrom < 0) resumedFrom = offset;
          return client.putPcapChunk(id, offset, data);
        },
      },
      { chunkBytes: 64 * 1024, log },
    );
    second.kick();
    await second.drained();
    expect(resumedFrom).toBe(128 * 1024);
    expect(readdirSync(spool)).toEqual([]);

    const list = await user.call('GET', `/api/v1/pcaps?incident_id=${incidentId}`);
    expect(list.body.total).toBe(1);
    const pcap = list.body.pcaps[0];
    expect(pcap).toMatchObject({ status: 'complete', size_bytes: dnsCapture.length, received_bytes: dnsCapture.length, sha256: sha(dnsCapture), incident_id: incidentId });
    const download = await fetch(`${stack.baseUrl}/api/v1/pcaps/${pcap.id}/download`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(download.headers.get('content-type')).toBe('application/vnd.tcpdump.pcap');
    expect(Buffer.from(await download.arrayBuffer()).equals(dnsCapture)).toBe(true);
    const { timeline } = (await user.call('GET', `/api/v1/incidents/${incidentId}`)).body;
    expect(timeline.map((e: { kind: string }) => e.kind)).toContain('pcap_uploaded');
  });

  it('keeps every capture of one incident, and skips a capture without packets', async () => {
    const incidentId = await openIncident('cap-4');
    const up = new PcapUploader(mkdtempSync(join(tmpdir(), 'bwk-spool-')), new AgentApiClient({ baseUrl: stack.baseUrl, nodeKey: key }), { log: () => undefined });
    const one = pcapFile([ipv4({ src: '198.51.100.1', dst: VICTIM, protocol: 17 }, udp(1, 2, Buffer.from('one')))]);
    const two = pcapFile([ipv4({ src: '198.51.100.2', dst: VICTIM, protocol: 17 }, udp(1, 2, Buffer.from('two')))]);
    expect(up.add('cap-4', one, new Date())).toBe(true);
    expect(up.add('cap-4', two, new Date())).toBe(true);
    expect(up.add('cap-4', pcapFile([]), new Date())).toBe(false);
    await up.drained();
    const listed = (await user.call('GET', `/api/v1/pcaps?incident_id=${incidentId}`)).body.pcaps as Array<{ sha256: string; status: string }>;
    expect(listed.map((p) => p.sha256).sort()).toEqual([sha(one), sha(two)].sort());
    expect(listed.every((p) => p.status === 'complete')).toBe(true);
  });

  it('holds uploads to the protocol: offsets, sizes, content type, checksum, ownership', async () => {
    await openIncident('cap-2');
    const file = pcapFile(Array.from({ length: 50 }, (_, i) => ipv4({ src: '198.51.100.9', dst: VICTIM, protocol: 17 }, udp(1000 + i, 9999, Buffer.alloc(100)))));
    expectError(await agent('POST', '/api/v1/agent/incidents/cap-2/pcaps', { size_bytes: 65 * 1024 * 1024, sha256: sha(file), captured_at: new Date().toISOString() }), 413, 'payload_too_large', 'size_bytes');
    expectError(await agent('POST', '/api/v1/agent/incidents/cap-2/pcaps', { size_bytes: file.length, sha256: 'nope', captured_at: new Date().toISOString() }), 400, 'invalid_parameter', 'sha256');
    expectError(await agent('POST', '/api/v1/agent/incidents/no-such/pcaps', { size_bytes: file.length, sha256: sha(file), captured_at: new Date().toISOString() }), 404, 'not_found', 'no-such');

    // Declared with the wrong hash: the last chunk fails the check and the upload restarts at 0.
    const wrong = await agent('POST', '/api/v1/agent/incidents/cap-2/pcaps', { size_bytes: file.length, sha256: sha(Buffer.from('other')), captured_at: new Date().toISOString() });
    const bad = await put(wrong.body.pcap.id, 0, file);
    expect(bad.status).toBe(409);
    expect(bad.body).toMatchObject({ ok: false, error: { code: 'conflict' }, received_bytes: 0 });
    expect(bad.body.error.message).toContain('sha256');

    const started = await agent('POST', '/api/v1/agent/incidents/cap-2/pcaps', { size_bytes: file.length, sha256: sha(file), captured_at: new Date().toISOString() });
    const id = started.body.pcap.id as number;
    expect(started.body.pcap).toMatchObject({ received_bytes: 0, status: 'uploading' });
    expect((await put(id, 0, file.subarray(0, 100))).body.pcap.received_bytes).toBe(100);
    // A retried chunk (the answer was lost) is accepted as is; a gap is not.
    expect((await put(id, 0, file.subarray(0, 100))).body.pcap.received_bytes).toBe(100);
    const gap = await put(id, 500, file.subarray(500, 600));
    expect(gap.status).toBe(409);
    expect(gap.body).toMatchObject({ error: { code: 'conflict' }, received_bytes: 100 });
    expect((await put(id, 100, Buffer.concat([file.subarray(100), Buffer.from('extra')]))).status).toBe(409);
    expect((await put(id, 100, file.subarray(100), 'application/json')).status).toBe(415);
    expect(await oversized(id, 100, 1024 * 1024 + 1)).toBe(413);
    // Announcing the file again answers where it stands.
    expect((await agent('POST', '/api/v1/agent/incidents/cap-2/pcaps', { size_bytes: file.length, sha256: sha(file), captured_at: new Date().toISOString() })).body.pcap).toMatchObject({ id, received_bytes: 100 });
    expectError(await user.call('GET', `/api/v1/pcaps/${id}/download`), 409, 'conflict', 'uploading');
    expect((await put(id, 100, file.subarray(100))).body.pcap.status).toBe('complete');

    // Another workspace sees none of it; another node cannot write to it.
    expectError(await other.call('GET', `/api/v1/pcaps/${id}/download`), 404, 'not_found', String(id));
    expect((await other.call('GET', '/api/v1/pcaps')).body.pcaps).toEqual([]);
    const otherNode = await other.call('POST', '/api/v1/nodes', { name: 'n', ip: '203.0.113.61' });
    const foreign = await fetch(`${stack.baseUrl}/api/v1/agent/pcaps/${id}/data?offset=0`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${otherNode.body.api_key}`, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(file),
    });
    expect(foreign.status).toBe(404);
  });
});

describe('reading captures', () => {
  let id: number;
  beforeAll(async () => {
    const incidentId = await openIncident('cap-3');
    const client = new AgentApiClient({ baseUrl: stack.baseUrl, nodeKey: key });
    const up = new PcapUploader(mkdtempSync(join(tmpdir(), 'bwk-spool-')), client, { log: () => undefined });
    up.add('cap-3', dnsCapture, new Date());
    await up.drained();
    id = (await user.call('GET', `/api/v1/pcaps?incident_id=${incidentId}`)).body.pcaps[0].id;
  });

  it('lists parsed packets, paged', async () => {
    const res = await user.call('GET', `/api/v1/pcaps/${id}/packets?limit=2&offset=1`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.total).toBe(1000);
    expect(res.body.packets).toHaveLength(2);
    expect(res.body.packets[0]).toMatchObject({ index: 1, ip_version: 4, src: SOURCES[1], dst: VICTIM, protocol: 'udp', src_port: 53, dst_port: 40001, payload_bytes: 1200, fragment: false });
    expectError(await user.call('GET', `/api/v1/pcaps/${id}/packets?limit=5000`), 400, 'invalid_parameter', 'limit');
    expectError(await user.call('GET', '/api/v1/pcaps?limit=500'), 400, 'invalid_parameter', 'limit');
    expectError(await user.call('GET', '/api/v1/pcaps/abc/packets'), 400, 'invalid_parameter', 'id');
    for (const what of ['packets', 'analysis']) expectError(await other.call('GET', `/api/v1/pcaps/${id}/${what}`), 404, 'not_found', String(id));
  });

  it('analyses the attack: vector, sources and their countries, the mitigation to take', async () => {
    const res = await user.call('GET', `/api/v1/pcaps/${id}/analysis`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const a = res.body.analysis;
    expect(a).toMatchObject({
      attack_vector: 'DNS amplification',
      family: 'udp_flood',
      subtype: 'dns_amplification',
      verdict: 'attack',
      total_packets: 1000,
      unique_sources: 4,
      recommended_mitigation: { intent_type: 'flowspec', target_ip: VICTIM, match: { protocol: ['udp'], source_port: [53] }, action: { type: 'discard' } },
    });
    // Half the sample comes from KP's 175.45.176.0/22.
    expect(a.top_source_countries[0]).toBe('KP');
    expect(a.top_sources.find((s: { ip: string }) => s.ip === '175.45.176.9').country).toBe('KP');
    // Cached: the same answer again.
    expect((await user.call('GET', `/api/v1/pcaps/${id}/analysis`)).body.analysis).toEqual(a);
  });
});
