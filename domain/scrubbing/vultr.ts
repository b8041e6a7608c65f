// Vultr: per-instance DDoS protection (Vultr has no on-demand diversion API). Bearer token.
import { z } from 'zod';
import { BearerToken, Prefixes } from './common.js';

export const defaultBaseUrl = 'https://api.vultr.com/v2';
export const config = z.strictObject({ prefixes: Prefixes, instance_id: z.string().regex(/^[0-9a-f-]{36}$/, 'must be the instance id (a UUID)') });
/** A personal access token. */
export const credentials = z.strictObject({ api_key: BearerToken('API key') });
