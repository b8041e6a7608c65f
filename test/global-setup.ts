// Once per test run: the shared back ends (test/support/env.ts), handed to every test file.
import type { TestProject } from 'vitest/node';
import { createTestEnv, type TestEnv } from './support/env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    env: TestEnv;
  }
}

export default async function setup(project: TestProject) {
  const { env, teardown } = await createTestEnv('test');
  project.provide('env', env);
  return teardown;
}
