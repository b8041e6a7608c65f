// What local stand-ins of appliances share: a certificate of their own (as appliances
// present), and failing on request.
import { execFileSync } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A self-signed certificate for an address, 127.0.0.1 unless told (openssl, as an appliance or a web server makes its own). */
export function selfSignedCert(ip = '127.0.0.1'): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bwk-cert-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${ip}`, '-addext', `subjectAltName=IP:${ip}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
}


/** The next `n` requests answer `status` (the appliance busy or restarting); `answered` takes them. */
export function failureSwitch() {
  const state = { n: 0, status: 503 };
  return {
    failNext(n: number, status = 503) {
      state.n = n;
      state.status = status;
    },
    answered(res: ServerResponse): boolean {
      if (state.n <= 0) return false;
      state.n--;
      res.writeHead(state.status, { 'content-type': 'application/json' }).end(JSON.stringify({ code: state.status, message: 'service unavailable' }));
      return true;
    },
  };
}
