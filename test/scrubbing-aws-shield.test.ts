// AWS Shield Advanced through the provider and the official SDK, against a local stand-in
// that verifies every SigV4 signature: a protection of Bulwark's created and deleted, the
// account's own never touched, application-layer automatic mitigation on and off, a wrong
// key refused once and never retried, an inactive subscription, failures retried, and the
// config's fields checked.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createShieldProvider } from '../activities/scrubbing/aws-shield.js';
import { config as configSchema } from '../domain/scrubbing/aws-shield.js';
import { startAwsShieldApi, type AwsShieldApi } from './support/aws-shield-api.js';
import { refusal } from './support/expect-error.js';

const TAG = 'bulwark-11';
let aws: AwsShieldApi;
beforeAll(async () => {
  aws = await startAwsShieldApi();
});
afterAll(async () => {
  await aws?.close();
});
beforeEach(() => {
  aws.applyAfterReads = 0;
  aws.failNext(0);
  aws.subscription = 'ACTIVE';
});

function provider(config: Record<string, unknown>, secret = aws.secretAccessKey, timeoutMs = 2000) {
  return createShieldProvider({ baseUrl: aws.baseUrl, timeoutMs, targets: { allowPrivate: true }, tag: TAG, config: configSchema.parse(config), credentials: { access_key_id: aws.accessKeyId, secret_access_key: secret } });
}
const made = (extra: Record<string, unknown> = {}) => {
  const { config } = aws.integration();
  const c = { ...config, ...extra };
  return { config: c, arn: c.resource_arn as string, p: provider(c) };
};
const ops = (from: number) => aws.calls.slice(from).map((c) => c.op);
const ALB = `arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188`;

describe('aws shield provider', () => {
  it('protects the resource with a protection of its own, signed as AWS verifies, and deletes it', async () => {
    const { arn, p } = made();
    const refusedBefore = aws.refusedSignatures;
    expect((await p.test()).detail).toBe(`Shield Advanced subscription active; ${arn}: not protected`);
    const from = aws.calls.length;
    await p.enable({ allowlisted: [] });
    expect(ops(from)).toEqual(['DescribeProtection', 'CreateProtection', 'DescribeProtection']);
    expect(aws.calls[from + 1]!.body).toEqual({ Name: TAG, ResourceArn: arn, Tags: [{ Key: 'bulwark', Value: TAG }] });
    const created = aws.protectionOf(arn)!;
    expect(created.Name).toBe(TAG);
    const on = await p.status();
    expect(on).toEqual({ state: 'on', detail: `${arn}: protected by Shield Advanced (${created.Id})` });
    // A repeat creates nothing.
    const again = aws.calls.length;
    await p.enable({ allowlisted: [] });
    expect(ops(again)).toEqual(['DescribeProtection']);

    await p.disable();
    expect(aws.calls.at(-1)).toEqual({ op: 'DeleteProtection', body: { ProtectionId: created.Id } });
    expect(aws.protectionOf(arn)).toBeNull();
    expect((await p.status()).state).toBe('off');
    await p.disable();
    expect(aws.calls.at(-1)!.op).toBe('DescribeProtection');
    expect(aws.refusedSignatures).toBe(refusedBefore);
  });

  it('never touches a protection the account made itself, and refuses to announce over it', async () => {
    const { arn, p } = made();
    aws.protectByHand(arn, 'prod-eip');
    const err = await refusal(p.enable({ allowlisted: [] }));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`already protected by the account's own protection "prod-eip"`);
    expect((await p.status())).toMatchObject({ state: 'off' });
    expect((await p.status()).detail).toContain('not by Bulwark');
    const from = aws.calls.length;
    await p.disable();
    expect(ops(from)).toEqual(['DescribeProtection']);
    expect(aws.protectionOf(arn)!.Name).toBe('prod-eip');
  });

  it('switches application-layer automatic mitigation on and off for a load balancer', async () => {
    const { p } = made({ resource_arn: ALB, automatic_response: 'block' });
    await p.enable({ allowlisted: [] });
    expect(aws.protectionOf(ALB)!.ApplicationLayerAutomaticResponseConfiguration).toEqual({ Status: 'ENABLED', Action: { Block: {} } });
    expect((await p.status()).detail).toContain('application-layer automatic mitigation blocking');
    await p.enable({ allowlisted: [] });
    const from = aws.calls.length;
    await p.disable();
    expect(ops(from)).toEqual(['DescribeProtection', 'DisableApplicationLayerAutomaticResponse', 'DeleteProtection']);
    expect(aws.protectionOf(ALB)).toBeNull();
    // Only CloudFront and Application Load Balancers have it.
    const eip = configSchema.safeParse({ ...made().config, automatic_response: 'count' });
    expect(eip.error?.issues[0]).toMatchObject({ path: ['automatic_response'] });
  });

  it('is not on until Shield shows the protection, nor off until it is gone', async () => {
    const { config, p } = made();
    aws.applyAfterReads = 3;
    // Created but not shown yet: enable itself notices and says so (retryable).
    const early = await refusal(p.enable({ allowlisted: [] }));
    expect(early.retryable).toBe(true);
    let state = (await p.status()).state;
    for (let i = 0; i < 5 && state !== 'on'; i++) state = (await p.status()).state;
    expect(state).toBe('on');
    expect(aws.diverting(config)).toBe('on');
  });

  it('sends a wrong secret once and never retries it; refuses an unknown key id and an inactive subscription', async () => {
    const { config, arn } = made();
    const wrong = provider(config, 'not-the-secret-access-key-0000');
    const refusedBefore = aws.refusedSignatures;
    const requestsBefore = aws.requests.length;
    const err = await refusal(wrong.enable({ allowlisted: [] }));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('HTTP 403 (InvalidSignatureException: The request signature we calculated does not match');
    expect(aws.requests.length - requestsBefore).toBe(1);
    expect(aws.refusedSignatures).toBe(refusedBefore + 1);
    expect(aws.protectionOf(arn)).toBeNull();

    const unknownKey = createShieldProvider({ baseUrl: aws.baseUrl, timeoutMs: 2000, targets: { allowPrivate: true }, tag: TAG, config: configSchema.parse(config), credentials: { access_key_id: 'AKIAUNKNOWNKEY000000', secret_access_key: aws.secretAccessKey } });
    const unrecognized = await refusal(unknownKey.status());
    expect(unrecognized.retryable).toBe(false);
    expect(unrecognized.message).toContain('UnrecognizedClientException');

    aws.subscription = 'INACTIVE';
    const inactive = await refusal(provider(config).test());
    expect(inactive.retryable).toBe(false);
    expect(inactive.message).toContain('subscription is INACTIVE');
    expect((await refusal(provider(config).enable({ allowlisted: [] }))).retryable).toBe(false);
  });

  it('retries a failing, throttling or silent AWS', async () => {
    const { config, p } = made();
    aws.failNext(1, 500);
    const failed = await refusal(p.enable({ allowlisted: [] }));
    expect(failed.retryable).toBe(true);
    expect(failed.message).toContain('InternalErrorException');
    aws.failNext(1, 400, { __type: 'com.amazonaws.shield#OptimisticLockException', message: 'changed meanwhile' });
    expect((await refusal(p.status())).retryable).toBe(true);
    aws.failNext(1, 0);
    const timedOut = await refusal(provider(config, aws.secretAccessKey, 300).status());
    expect(timedOut.retryable).toBe(true);
    expect(timedOut.message).toContain('AWS Shield API unreachable');
    // The SDK's requests obey the deployment's target policy like every provider's.
    const guarded = createShieldProvider({ baseUrl: aws.baseUrl, timeoutMs: 2000, targets: { allowPrivate: false }, tag: TAG, config: configSchema.parse(config), credentials: { access_key_id: aws.accessKeyId, secret_access_key: aws.secretAccessKey } });
    const before = aws.requests.length;
    const refused = await refusal(guarded.status());
    expect(refused.retryable).toBe(false);
    expect(refused.message).toContain('AWS Shield API refused');
    expect(aws.requests.length).toBe(before);
  });

  it('checks the config: the ARN, the region', () => {
    const base = made().config;
    expect(configSchema.safeParse({ ...base, resource_arn: 'eipalloc-123' }).error?.issues[0]?.path).toEqual(['resource_arn']);
    expect(configSchema.safeParse({ ...base, region: 'mars-1' }).error?.issues[0]?.path).toEqual(['region']);
    expect(configSchema.parse({ prefixes: base.prefixes, resource_arn: base.resource_arn }).region).toBe('us-east-1');
  });
});
