import { describe, expect, it } from 'vitest';
import { UsageError } from './io.ts';
import { isUsageProblem } from './main.ts';

describe('vigil main: telling a usage mistake from a failure', () => {
  it('takes UsageError and parseArgs errors as usage mistakes', () => {
    expect(isUsageProblem(new UsageError('bad flag'))).toBe(true);
    expect(isUsageProblem(Object.assign(new TypeError('Unknown option'), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }))).toBe(true);
  });

  // A kafkajs protocol error carries a numeric code: the chaos suite's monitor died on `code.startsWith`
  // ("TypeError: e?.code?.startsWith is not a function") instead of reporting the broker's error.
  it('does not throw on an error whose code is a number, or on a thrown non-error', () => {
    expect(isUsageProblem(Object.assign(new Error('The coordinator is loading'), { code: 14 }))).toBe(false);
    expect(isUsageProblem(Object.assign(new Error('x'), { code: null }))).toBe(false);
    expect(isUsageProblem(undefined)).toBe(false);
    expect(isUsageProblem('a string')).toBe(false);
  });
});
