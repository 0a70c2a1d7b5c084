import { beforeEach, describe, expect, it } from 'vitest';
import { scopeViolation } from './detector.ts';
import { runDetectors } from '../testing/run-detectors.ts';
import { expectOrderIndependent } from '../testing/order-independence.ts';
import { actionRequested, at, authzChecked, resetEventIds } from '../testing/event-builders.ts';

const run = (events: Parameters<typeof runDetectors>[1]) => runDetectors([scopeViolation], events).findings;
const scoped = { scopes: ['flight:book', 'profile:read'], requiredScope: 'flight:book' };

describe('scope_violation', () => {
  beforeEach(() => resetEventIds());

  it('fires on a request whose required scope is not in the token', () => {
    const r = actionRequested({ at: 3, scopes: ['profile:read'], requiredScope: 'flight:book', traceId: 'tr' });
    const f = run([r]);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      kind: 'scope_violation',
      severity: 'critical',
      scope: { type: 'agent', id: 'travel-assistant' },
      eventIds: [r.eventId],
      detectedAt: at(3),
      traceIds: ['tr'],
    });
    expect(f[0]!.summary).toBe('agent travel-assistant requested flight.book at acme-air without scope flight:book in its token (user u_1, intent i-1)');
  });

  it('fires on a request after a deny for its intent, with both as evidence', () => {
    const deny = authzChecked({ at: 1, decision: 'deny' });
    const r = actionRequested({ at: 2, ...scoped });
    const f = run([deny, r]);
    expect(f).toHaveLength(1);
    expect(f[0]!.eventIds).toEqual([deny.eventId, r.eventId]);
    expect(f[0]!.summary).toContain('after authorization was denied for the intent');
  });

  it('counts a deny that arrives up to the lateness after the request it precedes', () => {
    const deny = authzChecked({ at: 1, decision: 'deny' });
    const r = actionRequested({ at: 2, ...scoped });
    const later = actionRequested({ at: 5.9, intentId: 'other', ...scoped });
    expect(run([r, later, deny])).toHaveLength(1);
  });

  it('fires after a deny even when a later check allowed', () => {
    expect(run([authzChecked({ at: 0, decision: 'deny' }), authzChecked({ at: 1 }), actionRequested({ at: 2, ...scoped })])).toHaveLength(1);
  });

  it('stays silent when the scope is held, on other intents, without scopes, and before the deny', () => {
    expect(run([authzChecked({ at: 0 }), actionRequested({ at: 1, ...scoped })])).toEqual([]);
    expect(run([authzChecked({ at: 0, decision: 'deny', intentId: 'i-9' }), actionRequested({ at: 2, ...scoped })])).toEqual([]);
    expect(run([actionRequested({ at: 2, requiredScope: 'flight:book' })])).toEqual([]);
    expect(run([actionRequested({ at: 2 }), authzChecked({ at: 3, decision: 'deny' })])).toEqual([]);
  });

  it('fires once per intent', () => {
    const events = [1, 2, 3].map((n) => actionRequested({ at: n, attempt: n, scopes: [], requiredScope: 'flight:book' }));
    const f = run(events);
    expect(f).toHaveLength(1);
    expect(f[0]!.eventIds).toEqual([events[0]!.eventId]);
  });

  it('gives the same findings whatever the arrival order within the lateness and with redeliveries', () => {
    const events = [
      actionRequested({ at: 0.5, ...scoped }),
      authzChecked({ at: 1, decision: 'deny' }),
      actionRequested({ at: 1.5, attempt: 2, ...scoped }),
      actionRequested({ at: 2, attempt: 3, ...scoped }),
      authzChecked({ at: 1, intentId: 'i-2' }),
      actionRequested({ at: 2, intentId: 'i-2', ...scoped }),
      actionRequested({ at: 3, intentId: 'i-3', scopes: ['x'], requiredScope: 'y' }),
    ];
    const f = expectOrderIndependent([scopeViolation], events);
    expect(f.map((x) => x.eventIds)).toEqual([[events[1]!.eventId, events[2]!.eventId], [events[6]!.eventId]]);
  });
});
