import { inject } from 'vitest';
import type { StackEndpoints } from '../../scripts/stack/index.ts';

export type { StackEndpoints };

declare module 'vitest' {
  interface ProvidedContext {
    /** The local stack's endpoints, provided by test/helpers/global-setup.ts. */
    stackEndpoints: StackEndpoints;
  }
}

/**
 * The local stack's endpoints in a test worker, as test/helpers/global-setup.ts provided them (vitest
 * `provide`/`inject`). Throws a clear error when the globalSetup did not run.
 */
export function stackEndpoints(): StackEndpoints {
  const endpoints = inject('stackEndpoints');
  if (endpoints === undefined || typeof endpoints.kafkaBrokers !== 'string') {
    throw new Error('stackEndpoints(): no stack endpoints were provided; run the tests with vitest.config.ts (its globalSetup starts the stack)');
  }
  return endpoints;
}
