// Every error answer is the envelope with a stable code and a message a person can act on.
import { expect } from 'vitest';

export function expectError(res: { status: number; body: any }, status: number, code: string, mentions?: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toMatchObject({ ok: false, error: { code } });
  expect(typeof res.body.error.message).toBe('string');
  expect(res.body.error.message.length).toBeGreaterThan(5);
  if (mentions) expect(res.body.error.message).toContain(mentions);
}
