// The Prometheus scrape endpoint: `GET /metrics` on a listener of its own (loopback by
// default), apart from the API's port, so that no reverse proxy in front of the API
// publishes every tenant's figures by accident.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { registry } from './registry.js';

export interface MetricsEndpoint {
  /** `host:port` as bound (the port chosen when 0 was asked). */
  address: string;
  close(): Promise<void>;
}

/** `host:port` or `[v6]:port` into its parts. */
export function parseBindAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`a metrics address is host:port (127.0.0.1:9464, [::1]:9464), not "${address}"`);
  return { host: (m[1] ?? m[2])!, port };
}

/** Figures read at scrape time (the database's), answered as a registry of their own. */
export type MetricsSource = () => Promise<Registry>;

/** Serves the process registry plus what `sources` read at each scrape on `address`. */
export function serveMetrics(address: string, sources: MetricsSource[] = []): Promise<MetricsEndpoint> {
  const { host, port } = parseBindAddress(address);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics\n');
      return;
    }
    Promise.all(sources.map((read) => read()))
      .then((extra) => Registry.merge([registry, ...extra]).metrics())
      .then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${err.message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const bound = server.address() as AddressInfo;
      resolve({
        address: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
