import { describe, expect, it } from 'vitest';
import { registerSchemas } from '../../src/kafka/schema-registry.ts';
import { stackEndpoints } from '../helpers/stack-env.ts';
import { randomName } from '../helpers/wait.ts';

/**
 * Instances started together (a deployment's replicas) register the same new subjects at once. Apicurio
 * answers the loser of the race to create a subject's compatibility rule with "A rule named
 * 'COMPATIBILITY' already exists" (the live bench's scale-out run saw its second `vigil run` exit so).
 * Real registry: every caller must get the same schema ids.
 */
describe('schema registration by several instances at once (real Apicurio)', () => {
  it('succeeds for each, with the same ids', async () => {
    const url = stackEndpoints().schemaRegistryUrl;
    for (let round = 0; round < 3; round++) {
      const base = randomName('race');
      const subjects = { 'agent-action': `${base}.actions`, finding: `${base}.findings`, 'breaker-transition': `${base}.transitions`, 'compensation-command': `${base}.compensations` };
      const results = await Promise.all(Array.from({ length: 6 }, () => registerSchemas(url, subjects)));
      for (const r of results) expect(r.ids).toEqual(results[0]!.ids);
      expect(Object.keys(results[0]!.ids).sort()).toEqual(Object.keys(subjects).sort());
    }
  }, 120_000);
});
