/**
 * Writes samples/demo-traffic.jsonl: the minute of normal traffic in samples/normal-traffic.jsonl
 * (a copy of the contract's sample) with a few anomalies injected, so a newcomer running `npm run demo`
 * sees vigil find something. Deterministic: ids derive from a counter, so the file (and the demo's
 * finding ids) never change between runs.
 *
 *   node scripts/demo/make-demo-traffic.ts
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

type Ev = Record<string, unknown>;
let n = 0;
const id = (p: string) => {
  const h = createHash('sha256').update(`demo-${p}-${n++}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};
const trace = () => createHash('sha256').update(`trace-${n++}`).digest('hex').slice(0, 32);
const at = (s: number) => new Date(Date.parse('2026-11-20T10:00:00.000Z') + Math.round(s * 1000)).toISOString();
const hash = (s: string) => 'sha256:' + createHash('sha256').update(s).digest('hex');

const normal = readFileSync('samples/normal-traffic.jsonl', 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev);
const injected: Ev[] = [];
const base = (user: string, agent: string, version: string, intent: string, tr: string) => ({
  userId: user, agentId: agent, agentVersion: version, intentId: intent, sessionId: `s-${id('s')}`, traceId: tr, plan: 'paid',
});

// 1. acme-air starts failing: travel-assistant retries flight searches hard (retry_spike), and ≥50% of
//    acme-air's outcomes in a minute fail (vendor_failure_rate) → the agent's and the vendor's breakers.
for (let k = 0; k < 12; k++) {
  const intent = `i-${id('i')}`;
  const tr = trace();
  const b = base(`u_${(300 + k).toString().padStart(4, '0')}`, 'travel-assistant', '2.3.1', intent, tr);
  const action = { name: 'flight.search', vendor: 'acme-air', riskTier: 'low', stateChanging: false };
  for (let attempt = 1; attempt <= 4; attempt++) {
    const t = 24 + k * 2 + attempt * 0.35;
    injected.push({ eventId: id('e'), occurredAt: at(t), type: 'action.requested', ...b, action, attempt, payloadHash: hash(intent), scopes: ['flights:read'], requiredScope: 'flights:read' });
    injected.push({ eventId: id('e'), occurredAt: at(t + 0.3), type: 'action.failed', ...b, action, attempt, payloadHash: hash(intent), outcome: { status: attempt % 2 ? 'timeout' : 'error', httpStatus: attempt % 2 ? 504 : 503, errorCode: 'VENDOR_UNAVAILABLE', latencyMs: attempt % 2 ? 5000 : 120 } });
  }
}

// 2. A duplicate booking: the same flight booked twice for u_0421 under two idempotency keys.
{
  const intent = `i-${id('i')}`;
  const tr = trace();
  const b = base('u_0421', 'travel-assistant', '2.3.1', intent, tr);
  const action = { name: 'flight.book', vendor: 'globe-hotels', riskTier: 'high', stateChanging: true, amountMinor: 84200, currency: 'EUR' };
  const ph = hash('booking-u_0421');
  injected.push({ eventId: id('e'), occurredAt: at(30), type: 'confirmation.requested', ...b, action, payloadHash: ph });
  injected.push({ eventId: id('e'), occurredAt: at(31), type: 'confirmation.accepted', ...b, action, payloadHash: ph });
  injected.push({ eventId: id('e'), occurredAt: at(31.5), type: 'stepup.passed', ...b, action });
  for (const [i, key] of [`idk-${id('k')}`, `idk-${id('k')}`].entries()) {
    const t = 32 + i * 4;
    injected.push({ eventId: id('e'), occurredAt: at(t), type: 'action.requested', ...b, action, attempt: 1, idempotencyKey: key, payloadHash: ph, scopes: ['flights:write'], requiredScope: 'flights:write' });
    injected.push({ eventId: id('e'), occurredAt: at(t + 1.2), type: 'action.succeeded', ...b, action, attempt: 1, idempotencyKey: key, payloadHash: ph, outcome: { status: 'ok', httpStatus: 201, latencyMs: 1100, vendorRef: `GH${i}7731` } });
  }
}

// 3. A payment the user never confirmed and never stepped up for (unconfirmed_action, missing_step_up).
{
  const intent = `i-${id('i')}`;
  const b = base('u_0522', 'shop-helper', '4.0.2', intent, trace());
  const action = { name: 'payment.send', vendor: 'mega-mart', riskTier: 'high', stateChanging: true, amountMinor: 250000, currency: 'USD' };
  const key = `idk-${id('k')}`;
  injected.push({ eventId: id('e'), occurredAt: at(40), type: 'intent.parsed', ...b, action, confidenceScore: 0.62 });
  injected.push({ eventId: id('e'), occurredAt: at(41), type: 'action.requested', ...b, action, attempt: 1, idempotencyKey: key, payloadHash: hash('pay-u_0522'), scopes: ['payments:write'], requiredScope: 'payments:write' });
  injected.push({ eventId: id('e'), occurredAt: at(42), type: 'action.succeeded', ...b, action, attempt: 1, idempotencyKey: key, payloadHash: hash('pay-u_0522'), outcome: { status: 'ok', httpStatus: 200, latencyMs: 800, vendorRef: 'MM-99812' } });
}

// 4. The user revoked consent, and the agent still ordered food for them.
{
  injected.push({ eventId: id('e'), occurredAt: at(44), type: 'consent.revoked', userId: 'u_0175', agentId: 'food-orderer', agentVersion: '1.8.0', traceId: trace() });
  const intent = `i-${id('i')}`;
  const b = base('u_0175', 'food-orderer', '1.8.0', intent, trace());
  const action = { name: 'order.place', vendor: 'quick-eats', riskTier: 'low', stateChanging: true, amountMinor: 2350, currency: 'USD' };
  const key = `idk-${id('k')}`;
  injected.push({ eventId: id('e'), occurredAt: at(50), type: 'action.requested', ...b, action, attempt: 1, idempotencyKey: key, payloadHash: hash('order-u_0175'), scopes: ['orders:write'], requiredScope: 'orders:write' });
  injected.push({ eventId: id('e'), occurredAt: at(51), type: 'action.succeeded', ...b, action, attempt: 1, idempotencyKey: key, payloadHash: hash('order-u_0175'), outcome: { status: 'ok', httpStatus: 200, latencyMs: 300, vendorRef: 'QE-1182' } });
}

// 5. An agent that logs a customer's e-mail address as their userId (unmasked_pii).
{
  const b = base('jane.doe@example.com', 'shop-helper', '4.0.3', `i-${id('i')}`, trace());
  injected.push({ eventId: id('e'), occurredAt: at(55), type: 'intent.parsed', ...b, action: { name: 'cart.add', vendor: 'mega-mart', riskTier: 'low', stateChanging: false }, confidenceScore: 0.97 });
}

// 6. Thirty seconds of quiet, harmless traffic (product searches by thirty users, on every partition).
//    Decisions wait for the watermark (the highest event time seen minus the 5 s lateness), so live,
//    the anomalies above settle only once event time has moved on past them, as it does in a real stream.
const tail: Ev[] = [];
for (let k = 0; k < 30; k++) {
  const intent = `i-${id('i')}`;
  const b = base(`u_${(600 + k).toString().padStart(4, '0')}`, 'shop-helper', '4.0.3', intent, trace());
  const action = { name: 'product.search', vendor: 'mega-mart', riskTier: 'low', stateChanging: false };
  const t = 60 + k;
  tail.push({ eventId: id('e'), occurredAt: at(t), type: 'action.requested', ...b, action, attempt: 1, payloadHash: hash(intent), scopes: ['catalog:read'], requiredScope: 'catalog:read' });
  tail.push({ eventId: id('e'), occurredAt: at(t + 0.4), type: 'action.succeeded', ...b, action, attempt: 1, payloadHash: hash(intent), outcome: { status: 'ok', httpStatus: 200, latencyMs: 180 } });
}

const all = [...normal, ...injected, ...tail].sort((a, b) => (a.occurredAt as string).localeCompare(b.occurredAt as string));
writeFileSync('samples/demo-traffic.jsonl', all.map((e) => JSON.stringify(e)).join('\n') + '\n');
process.stdout.write(`wrote samples/demo-traffic.jsonl: ${normal.length} normal + ${injected.length} injected + ${tail.length} quiet tail events\n`);
