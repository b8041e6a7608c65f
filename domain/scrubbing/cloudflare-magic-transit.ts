// Cloudflare Magic Transit on demand: the account's onboarded (BYOIP) prefixes, advertised
// from Cloudflare's edge while the diversion runs. Bearer token.
import { z } from 'zod';
import { Prefixes } from './common.js';

export const defaultBaseUrl = 'https://api.cloudflare.com/client/v4';
/** `prefixes` are the account's on-demand prefixes, exactly as onboarded. */
export const config = z.strictObject({ prefixes: Prefixes, account_id: z.string().regex(/^[0-9a-f]{32}$/, 'must be the account id (32 hex characters)') });
/** An API token with Magic Transit (IP prefixes) edit rights. */
export const credentials = z.strictObject({ api_token: z.string().min(20, 'must be the API token').max(200) });
