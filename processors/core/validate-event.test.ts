import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { validateEvent, InvalidEventError } from './validate-event.ts';

const sample = readFileSync(new URL('../../samples/normal-traffic.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Record<string, unknown>);

const base = () => structuredClone(sample.find((e) => e.type === 'action.requested')!);

function reason(v: unknown): string {
  try {
    validateEvent(v);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidEventError);
    return (e as Error).message;
  }
  throw new Error('expected the event to be refused');
}

describe('validateEvent', () => {
  it('accepts every event of the shared sample and parses its event time', () => {
    for (const e of sample) {
      const v = validateEvent(structuredClone(e));
      expect(v.ts).toBe(Date.parse(e.occurredAt as string));
    }
  });

  it('keeps unknown extra fields', () => {
    const v = validateEvent({ ...base(), extra: { a: 1 } });
    expect((v as unknown as Record<string, unknown>).extra).toEqual({ a: 1 });
  });

  it('accepts consent events without intentId or action', () => {
    const { intentId: _i, action: _a, ...rest } = base();
    expect(validateEvent({ ...rest, type: 'consent.revoked' }).type).toBe('consent.revoked');
  });

  it.each([
    [null, '(root): must be an object, got null'],
    [[1], '(root): must be an object, got array'],
  ])('refuses a non-object %j', (v, msg) => expect(reason(v)).toBe(msg));

  it.each(['eventId', 'type', 'occurredAt', 'userId', 'agentId', 'agentVersion', 'intentId', 'action'])(
    'refuses an event without %s, naming it',
    (field) => {
      const e = base();
      delete e[field];
      expect(reason(e)).toBe(`${field}: is required`);
    },
  );

  it('names nested fields', () => {
    const e = base();
    (e.action as Record<string, unknown>).riskTier = 'extreme';
    expect(reason(e)).toMatch(/^action\.riskTier: must be low, medium or high/);
    const f = base();
    (f.action as Record<string, unknown>).stateChanging = 'yes';
    expect(reason(f)).toBe('action.stateChanging: must be a boolean, got string');
  });

  it('refuses wrong types and values', () => {
    expect(reason({ ...base(), userId: 42 })).toBe('userId: must be a string, got number');
    expect(reason({ ...base(), type: 'action.teleported' })).toBe('type: unknown event type "action.teleported"');
    expect(reason({ ...base(), occurredAt: '2026-11-20 10:00:00' })).toMatch(/^occurredAt: must be RFC 3339/);
    expect(reason({ ...base(), occurredAt: '2026-13-45T10:00:00.000Z' })).toMatch(/^occurredAt:/);
    expect(reason({ ...base(), attempt: 0 })).toBe('attempt: must be an integer ≥ 1, got 0');
    expect(reason({ ...base(), attempt: 1.5 })).toBe('attempt: must be an integer ≥ 1, got 1.5');
    expect(reason({ ...base(), scopes: ['a', 3] })).toBe('scopes[1]: must be a string, got number');
    expect(reason({ ...base(), confidenceScore: 2 })).toBe('confidenceScore: must be between 0 and 1, got 2');
    expect(reason({ ...base(), decision: 'maybe' })).toBe('decision: must be "allow" or "deny", got "maybe"');
  });

  it('refuses strings with a lone surrogate (no UTF-8 form: two ids would become one), naming where', () => {
    expect(reason({ ...base(), eventId: 'ev-\ud800' })).toBe('eventId: must be well-formed Unicode: a lone surrogate \\ud800 at index 3');
    expect(reason({ ...base(), userId: '\udc00x' })).toBe('userId: must be well-formed Unicode: a lone surrogate \\udc00 at index 0');
    expect(reason({ ...base(), scopes: ['ok', 'a\udbff'] })).toBe('scopes[1]: must be well-formed Unicode: a lone surrogate \\udbff at index 1');
    // NUL, right-to-left override, combining marks and pairs are well-formed: accepted as they are
    for (const id of ['a\u0000b', 'u\u202e3', 'e\u0301', '😀']) expect(validateEvent({ ...base(), userId: id }).userId).toBe(id);
  });

  it('requires the fields a type needs', () => {
    const { attempt: _a, ...noAttempt } = base();
    expect(reason(noAttempt)).toBe('attempt: is required for action.requested');
    expect(reason({ ...base(), type: 'action.failed' })).toBe('outcome: is required for action.failed');
    expect(reason({ ...base(), type: 'compensation.requested' })).toBe('compensation: is required for compensation.requested');
    expect(reason({ ...base(), type: 'authz.checked' })).toBe('decision: is required for authz.checked');
    expect(reason({ ...base(), type: 'action.failed', outcome: { status: 'boom' } })).toMatch(/^outcome\.status:/);
  });

  it('treats null optional fields as absent', () => {
    const v = validateEvent({ ...base(), sessionId: null, traceId: null });
    expect(v.sessionId).toBeUndefined();
  });

  it('parses occurredAt as Date.parse does, and refuses what is not RFC 3339 UTC with milliseconds', () => {
    const cases = [
      '2026-11-20T10:00:00.000Z',
      '2026-11-20T23:59:59.999Z',
      '2026-11-21T00:00:00.000Z',
      '2028-02-29T12:34:56.789Z',
      '0000-01-01T00:00:00.000Z',
      '0099-12-31T23:59:59.999Z',
      '1969-12-31T23:59:59.999Z',
      '9999-12-31T23:59:59.999Z',
    ];
    for (const occurredAt of cases) {
      const v = validateEvent({ ...base(), occurredAt });
      expect(v.ts).toBe(Date.parse(occurredAt));
      expect(new Date(v.ts).toISOString()).toBe(occurredAt); // reads back as itself
    }
    for (const occurredAt of [
      // days that do not exist and 24:00: Date.parse would roll them over (to 1 March, the next midnight)
      '2026-02-29T00:00:00.000Z',
      '2026-02-30T10:00:00.000Z',
      '2026-04-31T10:00:00.000Z',
      '2026-11-20T24:00:00.000Z',
      '2026-11-20T24:00:00.001Z',
      '2026-11-20T10:60:00.000Z',
      '2026-11-20T10:00:60.000Z',
      '2026-11-00T10:00:00.000Z',
      '2026-11-32T10:00:00.000Z',
      '2026-13-20T10:00:00.000Z',
      '2026-11-20T10:00:00.000+00:00',
      '2026-11-20T10:00:00Z',
      '2026-11-20t10:00:00.000Z',
      '2026-11-20T10:00:00.000Z ',
      '2026-11-2010:00:00.000ZZ',
      '2026-11-20T1a:00:00.000Z',
      '\u0662026-11-20T10:00:00.000Z'.slice(0, 24),
    ]) {
      expect(reason({ ...base(), occurredAt })).toBe(`occurredAt: must be RFC 3339 UTC with milliseconds, got "${occurredAt}"`);
    }
  });
});
