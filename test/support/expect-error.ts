// Every error answer is the envelope with a stable code and a message a person can act on.
import { expect } from 'vitest';
import { ProviderError } from '../../activities/scrubbing/types.js';

export function expectError(res: { status: number; body: any }, status: number, code: string, mentions?: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toMatchObject({ ok: false, error: { code } });
  expect(typeof res.body.error.message).toBe('string');
  expect(res.body.error.message.length).toBeGreaterThan(5);
  if (mentions) expect(res.body.error.message).toContain(mentions);
}

/** A scrubbing provider's call that must fail with a ProviderError; returns it for its message and retryability. */
export async function refusal(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}
