import { describe, expect, it } from 'vitest';
import { forEachKindRule, type SectionProblem } from './kind-rules.ts';

describe('forEachKindRule (the rules-by-finding-kind mapping of a policy section)', () => {
  const run = (rules: unknown) => {
    const problems: SectionProblem[] = [];
    const seen: string[] = [];
    forEachKindRule('things', rules, ['action', 'shadow'], '{ action, shadow }', problems, (kind, r, path) => seen.push(`${kind} ${path} ${JSON.stringify(r)}`));
    return { problems, seen };
  };

  it('hands each rule of a known kind to the callback, in file order, with its path', () => {
    expect(run({ retry_spike: { action: 'x' }, duplicate_action: {} }).seen).toEqual([
      'retry_spike things.rules.retry_spike {"action":"x"}',
      'duplicate_action things.rules.duplicate_action {}',
    ]);
  });

  it('names what is wrong: rules not a mapping, an unknown kind, a rule not a mapping, an unknown key (still handed on)', () => {
    expect(run(['retry_spike']).problems).toEqual([{ field: 'things.rules', message: 'must be a mapping from finding kind to { action, shadow }' }]);
    const { problems, seen } = run({ retry_spikes: {}, runaway_agent: 'on', duplicate_action: { action: 'x', acton: 'y' } });
    expect(problems).toEqual([
      { field: 'things.rules.retry_spikes', message: expect.stringMatching(/^unknown finding kind \(known: retry_spike, /) },
      { field: 'things.rules.runaway_agent', message: 'must be a mapping of action, shadow' },
      { field: 'things.rules.duplicate_action.acton', message: 'unknown key (known: action, shadow)' },
    ]);
    expect(seen).toHaveLength(1);
  });
});
