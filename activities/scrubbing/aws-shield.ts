// AWS Shield Advanced, through the official SDK (@aws-sdk/client-shield; SigV4, JSON 1.1,
// `X-Amz-Target: AWSShield_20160616.<Op>`), its endpoint the integration's base URL. AWS
// has no diversion to switch: what a diversion does is protect the resource with Shield
// Advanced (CreateProtection, named with settings.tag and tagged `bulwark`), and, for a
// CloudFront distribution or an Application Load Balancer, switch on application-layer
// automatic mitigation. Withdrawing deletes only a protection of Bulwark's: one the
// account made itself is left alone, and an announce on such a resource is refused
// (there is nothing Bulwark could turn on, nor should turn off).
//
// The SDK makes one attempt (maxAttempts 1): retries are the workflow's, which never
// retries a refusal (bad keys, a request AWS rejects). Its sockets go through the
// deployment's target policy like every other provider's (guardedLookup).
// https://docs.aws.amazon.com/waf/latest/DDOSAPIReference/
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  CreateProtectionCommand,
  DeleteProtectionCommand,
  DescribeProtectionCommand,
  DisableApplicationLayerAutomaticResponseCommand,
  EnableApplicationLayerAutomaticResponseCommand,
  GetSubscriptionStateCommand,
  ShieldClient,
  type Protection,
} from '@aws-sdk/client-shield';
import { refuseTargetUrl } from '../../domain/http-targets.js';
import type { ScrubbingConfig, ScrubbingCredentials } from '../../domain/scrubbing.js';
import { guardedLookup } from '../http-client.js';
import { ProviderError, type ProviderSettings, type ProviderStatus, type ScrubbingProvider } from './types.js';

/** AWS errors a retry can mend: a conflicting change in flight, throttling. */
const RETRYABLE = new Set(['OptimisticLockException', 'ThrottlingException', 'ThrottledException', 'TooManyRequestsException', 'RequestLimitExceeded']);

interface AwsError {
  name?: string;
  message?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

/** The SDK's error as a ProviderError: a server fault, throttling or no answer is retryable; anything AWS refused is not. */
function providerError(op: string, err: unknown): ProviderError {
  const e = err as AwsError;
  if (e.code === 'ETARGETREFUSED') return new ProviderError(`AWS Shield API refused: ${e.message}`, false);
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined) return new ProviderError(`AWS Shield API unreachable (${op}): ${e.name ?? 'Error'}: ${e.message}`);
  const retryable = e.$fault === 'server' || status >= 500 || status === 429 || RETRYABLE.has(e.name ?? '');
  return new ProviderError(`AWS Shield ${op}: HTTP ${status} (${e.name}: ${e.message})`, retryable);
}

export function createShieldProvider(s: ProviderSettings<ScrubbingConfig<'aws_shield'>, ScrubbingCredentials<'aws_shield'>>): ScrubbingProvider {
  const lookup = guardedLookup(s.targets) as never;
  const client = new ShieldClient({
    region: s.config.region,
    endpoint: s.baseUrl,
    credentials: { accessKeyId: s.credentials.access_key_id, secretAccessKey: s.credentials.secret_access_key },
    maxAttempts: 1,
    // throwOnRequestTimeout: without it the SDK only warns and keeps waiting for a silent AWS.
    requestHandler: { connectionTimeout: s.timeoutMs, requestTimeout: s.timeoutMs, throwOnRequestTimeout: true, httpAgent: new HttpAgent({ lookup }), httpsAgent: new HttpsAgent({ lookup }) },
  });
  const arn = s.config.resource_arn;

  async function call<T>(op: string, send: () => Promise<T>): Promise<T> {
    const refused = refuseTargetUrl(new URL(s.baseUrl), s.targets);
    if (refused) throw new ProviderError(`AWS Shield API refused: ${refused}`, false);
    try {
      return await send();
    } catch (err) {
      throw providerError(op, err);
    }
  }
  /** The resource's protection, or null when it has none. */
  const protection = () =>
    call('DescribeProtection', async () => {
      try {
        return (await client.send(new DescribeProtectionCommand({ ResourceArn: arn }))).Protection ?? null;
      } catch (err) {
        if ((err as AwsError).name === 'ResourceNotFoundException') return null;
        throw err;
      }
    });
  const isOurs = (p: Protection) => p.Name === s.tag;
  const layer7On = (p: Protection) => p.ApplicationLayerAutomaticResponseConfiguration?.Status === 'ENABLED';
  const owner = (p: Protection) => `the account's own protection "${p.Name}" (${p.Id})`;

  return {
    async enable() {
      let p = await protection();
      if (p && !isOurs(p)) throw new ProviderError(`${arn} is already protected by ${owner(p)}: Bulwark has nothing to turn on and leaves it alone`, false);
      if (!p) {
        await call('CreateProtection', async () => {
          try {
            await client.send(new CreateProtectionCommand({ Name: s.tag, ResourceArn: arn, Tags: [{ Key: 'bulwark', Value: s.tag }] }));
          } catch (err) {
            // A repeat whose first attempt got through: judged by the describe below.
            if ((err as AwsError).name !== 'ResourceAlreadyExistsException') throw err;
          }
        });
        p = await protection();
        if (!p) throw new ProviderError(`AWS Shield created a protection of ${arn} but does not show it yet`);
        if (!isOurs(p)) throw new ProviderError(`${arn} was protected meanwhile by ${owner(p)}; Bulwark leaves it alone`, false);
      }
      const action = s.config.automatic_response;
      if (action && !layer7On(p)) {
        await call('EnableApplicationLayerAutomaticResponse', () =>
          client.send(new EnableApplicationLayerAutomaticResponseCommand({ ResourceArn: arn, Action: action === 'block' ? { Block: {} } : { Count: {} } })),
        );
      }
    },

    async disable() {
      const p = await protection();
      if (!p || !isOurs(p)) return; // none, or the account's own: nothing of Bulwark's to end
      if (layer7On(p)) await call('DisableApplicationLayerAutomaticResponse', () => client.send(new DisableApplicationLayerAutomaticResponseCommand({ ResourceArn: arn })));
      await call('DeleteProtection', async () => {
        try {
          await client.send(new DeleteProtectionCommand({ ProtectionId: p.Id }));
        } catch (err) {
          if ((err as AwsError).name !== 'ResourceNotFoundException') throw err;
        }
      });
    },

    async status(): Promise<ProviderStatus> {
      const p = await protection();
      if (!p) return { state: 'off', detail: `${arn}: no Shield Advanced protection` };
      if (!isOurs(p)) return { state: 'off', detail: `${arn}: protected by ${owner(p)}, not by Bulwark` };
      const wanted = s.config.automatic_response;
      if (wanted && !layer7On(p)) return { state: 'partial', detail: `${arn}: protected (${p.Id}), application-layer automatic mitigation not on yet` };
      return { state: 'on', detail: `${arn}: protected by Shield Advanced (${p.Id})${wanted ? `, application-layer automatic mitigation ${wanted === 'block' ? 'blocking' : 'counting'}` : ''}` };
    },

    async test() {
      const t0 = performance.now();
      const state = (await call('GetSubscriptionState', () => client.send(new GetSubscriptionStateCommand({})))).SubscriptionState;
      const latencyMs = performance.now() - t0;
      if (state !== 'ACTIVE') throw new ProviderError(`the account's Shield Advanced subscription is ${state ?? 'unknown'}: protections need an active one`, false);
      const p = await protection();
      return { latencyMs, detail: `Shield Advanced subscription active; ${arn}: ${p ? (isOurs(p) ? `protected by Bulwark (${p.Id})` : `protected by ${owner(p)}`) : 'not protected'}` };
    },
  };
}
