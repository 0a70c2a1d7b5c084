import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { BUNDLED_POLICY_PATH } from '../policy/bundled-policy.ts';

/**
 * The demo's waits, shorter than production's so a minute shows everything: an action with no outcome
 * is orphaned after 20 s (not 5 min), breakers stay open 3 min (so they are still open when the demo
 * ends), and the first e-mail of an incident goes 5 s after its first finding (not 10 s).
 */
export const DEMO_POLICY_CHANGES: readonly { path: (string | number)[]; value: number; why: string }[] = [
  { path: ['detectors', 'orphaned_action', 'params', 'timeoutMs'], value: 20_000, why: 'an action with no outcome is orphaned after 20 s' },
  { path: ['breakers', 'defaults', 'baseMs'], value: 180_000, why: 'a tripped breaker stays open 3 min' },
  { path: ['notifications', 'groupWaitMs'], value: 5_000, why: 'the first e-mail of an incident goes 5 s after its first finding' },
];

/** Writes the bundled policy with the demo's changes into `dir`; returns the file's path. */
export function writeDemoPolicy(dir: string): string {
  const doc = parseDocument(readFileSync(BUNDLED_POLICY_PATH, 'utf8'));
  for (const c of DEMO_POLICY_CHANGES) doc.setIn(c.path, c.value);
  doc.commentBefore = ` The demo's policy: vigil.policy.yaml with shorter waits (src/cli/demo-policy.ts):\n${DEMO_POLICY_CHANGES.map((c) => `   ${c.path.join('.')}: ${c.value} (${c.why})`).join('\n')}\n${doc.commentBefore ?? ''}`;
  const file = join(dir, 'vigil.demo.policy.yaml');
  writeFileSync(file, doc.toString());
  return file;
}
