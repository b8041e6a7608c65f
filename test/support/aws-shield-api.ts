// A local stand-in for the part of the AWS Shield API the integration uses
// (https://docs.aws.amazon.com/waf/latest/DDOSAPIReference/): AWS JSON 1.1 over POST /,
// the operation in `X-Amz-Target: AWSShield_20160616.<Op>`, every request's SigV4
// signature recomputed from the known secret key (canonical request, string to sign,
// signing key) and refused as AWS does: an unknown key id with UnrecognizedClientException,
// a wrong signature or an expired date with InvalidSignatureException. It keeps the
// account's protections (Bulwark's and the account's own) and the subscription's state,
// and answers CreateProtection, DescribeProtection, DeleteProtection, ListProtections,
// GetSubscriptionState and Enable/DisableApplicationLayerAutomaticResponse with AWS's
// shapes; errors are {"__type", "message"} with `x-amzn-errortype`.
// (?) The error for a CreateProtection without a subscription is unconfirmed: here
// ResourceNotFoundException, as for other missing resources.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { startStandIn, type ProviderStandIn, type StandInAnswer, type StandInRequest } from './provider-stand-in.js';

export interface ShieldProtection {
  Id: string;
  Name: string;
  ResourceArn: string;
  ProtectionArn: string;
  HealthCheckIds: string[];
  ApplicationLayerAutomaticResponseConfiguration?: { Status: 'ENABLED' | 'DISABLED'; Action: { Block?: object; Count?: object } };
}

export interface AwsShieldApi extends ProviderStandIn {
  accessKeyId: string;
  secretAccessKey: string;
  /** Operations called, in order, with their bodies (signature verified). */
  calls: Array<{ op: string; body: any }>;
  /** Requests refused for their signature or key. */
  refusedSignatures: number;
  subscription: 'ACTIVE' | 'INACTIVE';
  /** The resource's protection now, if any (a copy). */
  protectionOf(resourceArn: string): ShieldProtection | null;
  /** A protection the account made itself. */
  protectByHand(resourceArn: string, name: string): void;
}

const ACCOUNT = '123456789012';
const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
const awsError = (status: number, type: string, message: string): StandInAnswer => ({
  status,
  body: { __type: `com.amazonaws.shield#${type}`, message },
  headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type },
});

/** Why AWS would refuse the request's signature, or null when it is right. */
function signatureProblem(req: StandInRequest, keys: Map<string, string>): { status: number; type: string; message: string } | null {
  const auth = String(req.headers.authorization ?? '');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return { status: 400, type: 'IncompleteSignatureException', message: 'Authorization header requires Credential, SignedHeaders and Signature' };
  const [, keyId, date, region, service, signedHeaders, signature] = m as unknown as [string, string, string, string, string, string, string];
  const secret = keys.get(keyId);
  if (!secret) return { status: 400, type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  if (service !== 'shield') return { status: 403, type: 'InvalidSignatureException', message: `Credential should be scoped to correct service: 'shield'.` };
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const at = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!at || !amzDate.startsWith(date)) return { status: 400, type: 'IncompleteSignatureException', message: 'X-Amz-Date must match the credential scope date' };
  const when = Date.UTC(+at[1]!, +at[2]! - 1, +at[3]!, +at[4]!, +at[5]!, +at[6]!);
  if (Math.abs(Date.now() - when) > 5 * 60_000) return { status: 403, type: 'InvalidSignatureException', message: 'Signature expired: the request time is more than 5 minutes off the server time.' };
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return { status: 403, type: 'InvalidSignatureException', message: 'host and x-amz-date must be signed' };
  const canonicalHeaders = names.map((n) => `${n}:${String(req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const url = new URL(req.url, 'http://x');
  const query = [...url.searchParams].map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)]).sort().map(([k, v]) => `${k}=${v}`).join('&');
  const canonical = [req.method, url.pathname, query, canonicalHeaders, signedHeaders, sha256(req.raw)].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  const expected = createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
  if (expected !== signature) {
    return { status: 403, type: 'InvalidSignatureException', message: 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.' };
  }
  return null;
}

export async function startAwsShieldApi(): Promise<AwsShieldApi> {
  const accessKeyId = 'AKIAIOSFODNN7BULWARK';
  const secretAccessKey = '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';
  const keys = new Map([[accessKeyId, secretAccessKey]]);
  const protections = new Map<string, ShieldProtection>(); // by resource ARN
  /** Changes not shown by DescribeProtection yet, with the reads left. */
  const pending = new Map<string, { value: ShieldProtection | null; reads: number }>();
  const calls: AwsShieldApi['calls'] = [];
  const LAYER7 = /^arn:aws:(cloudfront::\d{12}:distribution\/|elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer\/app\/)/;
  const ok = (body: unknown = {}): StandInAnswer => ({ status: 200, body, headers: { 'content-type': 'application/x-amz-json-1.1' } });
  const copy = <T>(v: T): T => structuredClone(v);

  /** What DescribeProtection shows for the resource: the last change, once enough reads went by. */
  const shown = (resourceArn: string, read: boolean) => {
    const p = pending.get(resourceArn);
    if (p && read && --p.reads <= 0) pending.delete(resourceArn);
    const still = pending.get(resourceArn);
    return still ? protectionsBefore.get(resourceArn) ?? null : protections.get(resourceArn) ?? null;
  };
  /** The protection as shown before a pending change. */
  const protectionsBefore = new Map<string, ShieldProtection | null>();
  const change = (resourceArn: string, value: ShieldProtection | null) => {
    if (api.applyAfterReads > 0) {
      if (!pending.has(resourceArn)) protectionsBefore.set(resourceArn, copy(protections.get(resourceArn) ?? null));
      pending.set(resourceArn, { value, reads: api.applyAfterReads });
    } else pending.delete(resourceArn);
    if (value) protections.set(resourceArn, value);
    else protections.delete(resourceArn);
  };
  const byId = (id: unknown) => [...protections.values()].find((p) => p.Id === id);

  function operation(op: string, body: any): StandInAnswer {
    switch (op) {
      case 'GetSubscriptionState':
        return ok({ SubscriptionState: api.subscription });
      case 'CreateProtection': {
        if (typeof body.Name !== 'string' || !/^[ a-zA-Z0-9_.-]{1,128}$/.test(body.Name)) return awsError(400, 'InvalidParameterException', 'Name must be 1-128 letters, digits, spaces, _, . or -');
        if (typeof body.ResourceArn !== 'string' || !/^arn:aws:[a-z0-9-]+:[a-z0-9-]*:\d{12}:\S+$/.test(body.ResourceArn)) return awsError(400, 'InvalidParameterException', 'ResourceArn is not a valid ARN');
        if (api.subscription !== 'ACTIVE') return awsError(400, 'ResourceNotFoundException', 'The account does not have an active Shield Advanced subscription.');
        if (protections.has(body.ResourceArn)) return awsError(400, 'ResourceAlreadyExistsException', `The referenced protection already exists: ${body.ResourceArn}`);
        const Id = randomBytes(18).toString('hex').slice(0, 36);
        change(body.ResourceArn, { Id, Name: body.Name, ResourceArn: body.ResourceArn, ProtectionArn: `arn:aws:shield::${ACCOUNT}:protection/${Id}`, HealthCheckIds: [] });
        return ok({ ProtectionId: Id });
      }
      case 'DescribeProtection': {
        if ((body.ResourceArn === undefined) === (body.ProtectionId === undefined)) return awsError(400, 'InvalidParameterException', 'Give exactly one of ProtectionId and ResourceArn');
        const arn = body.ResourceArn ?? byId(body.ProtectionId)?.ResourceArn;
        const p = arn ? shown(arn, true) : null;
        return p ? ok({ Protection: copy(p) }) : awsError(400, 'ResourceNotFoundException', 'The referenced protection does not exist.');
      }
      case 'DeleteProtection': {
        const p = byId(body.ProtectionId);
        if (!p) return awsError(400, 'ResourceNotFoundException', 'The referenced protection does not exist.');
        change(p.ResourceArn, null);
        return ok({});
      }
      case 'ListProtections':
        return ok({ Protections: [...protections.values()].map(copy) });
      case 'EnableApplicationLayerAutomaticResponse':
      case 'DisableApplicationLayerAutomaticResponse': {
        const p = protections.get(body.ResourceArn);
        if (!p) return awsError(400, 'ResourceNotFoundException', 'The referenced protection does not exist.');
        if (!LAYER7.test(p.ResourceArn)) return awsError(400, 'InvalidParameterException', 'Application layer automatic response is available for CloudFront distributions and Application Load Balancers only.');
        const enable = op.startsWith('Enable');
        if (enable && (typeof body.Action !== 'object' || Object.keys(body.Action ?? {}).length !== 1 || !('Block' in body.Action || 'Count' in body.Action))) return awsError(400, 'InvalidParameterException', 'Action must be {"Block": {}} or {"Count": {}}');
        const on = p.ApplicationLayerAutomaticResponseConfiguration?.Status === 'ENABLED';
        // (?) AWS's answer to enabling twice is unconfirmed: InvalidOperationException here.
        if (enable === on) return awsError(400, 'InvalidOperationException', `Application layer automatic response is already ${on ? 'enabled' : 'disabled'}.`);
        change(p.ResourceArn, { ...p, ApplicationLayerAutomaticResponseConfiguration: enable ? { Status: 'ENABLED', Action: body.Action } : { Status: 'DISABLED', Action: p.ApplicationLayerAutomaticResponseConfiguration!.Action } });
        return ok({});
      }
      default:
        return awsError(400, 'UnknownOperationException', `Unknown operation ${op}`);
    }
  }

  const server = await startStandIn(
    '',
    (req) => {
      if (req.method !== 'POST' || req.path !== '/') return awsError(404, 'UnknownOperationException', 'Not found');
      const problem = signatureProblem(req, keys);
      if (problem) {
        api.refusedSignatures++;
        return awsError(problem.status, problem.type, problem.message);
      }
      const target = /^AWSShield_20160616\.([A-Za-z]+)$/.exec(String(req.headers['x-amz-target'] ?? ''));
      if (!target) return awsError(400, 'UnknownOperationException', 'X-Amz-Target is missing');
      if (!String(req.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.1')) return awsError(400, 'SerializationException', 'Content-Type must be application/x-amz-json-1.1');
      if (req.json === undefined) return awsError(400, 'SerializationException', 'The body is not JSON');
      calls.push({ op: target[1]!, body: req.json });
      return operation(target[1]!, req.json);
    },
    (status) => ({ __type: status >= 500 ? 'com.amazonaws.shield#InternalErrorException' : 'com.amazonaws.shield#ThrottlingException', message: 'simulated failure' }),
  );

  const api: AwsShieldApi = {
    ...server,
    type: 'aws_shield',
    accessKeyId,
    secretAccessKey,
    calls,
    refusedSignatures: 0,
    subscription: 'ACTIVE',
    applyAfterReads: 0,
    protectionOf: (arn) => copy(protections.get(arn) ?? null),
    protectByHand(arn, name) {
      const Id = randomBytes(18).toString('hex').slice(0, 36);
      protections.set(arn, { Id, Name: name, ResourceArn: arn, ProtectionArn: `arn:aws:shield::${ACCOUNT}:protection/${Id}`, HealthCheckIds: [] });
    },
    integration() {
      const resource_arn = `arn:aws:ec2:us-east-1:${ACCOUNT}:eip-allocation/eipalloc-${randomBytes(8).toString('hex')}`;
      return { config: { prefixes: ['203.0.113.10/32'], resource_arn, region: 'us-east-1' }, credentials: { access_key_id: accessKeyId, secret_access_key: secretAccessKey } };
    },
    badCredentials: () => ({ access_key_id: accessKeyId, secret_access_key: 'not-the-secret-access-key-0000' }),
    diverting: (config) => (String(shown(config.resource_arn as string, false)?.Name ?? '').startsWith('bulwark-') ? 'on' : 'off'),
    turnOff: (config) => {
      pending.delete(config.resource_arn as string);
      protections.delete(config.resource_arn as string);
    },
  };
  return api;
}
