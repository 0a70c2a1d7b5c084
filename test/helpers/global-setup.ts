import type { TestProject } from 'vitest/node';
import { ensureStack } from '../../scripts/stack/index.ts';
import './stack-env.ts';

/**
 * vitest globalSetup: starts (or reuses) the local stack once per run and hands its endpoints to the
 * test workers through `project.provide('stackEndpoints', …)`; tests read them with stackEndpoints()
 * from test/helpers/stack-env.ts. The stack stays up after the run (`npm run stack:down` stops it), so
 * the next run starts in seconds.
 */
export default async function setup(project: TestProject): Promise<void> {
  const endpoints = await ensureStack({ quiet: true });
  project.provide('stackEndpoints', endpoints);
}
