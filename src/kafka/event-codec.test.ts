import { describe, expect, it } from 'vitest';
import { decodeEvent, BadEventError } from './event-codec.ts';

const event = {
  eventId: 'e1', type: 'intent.parsed', occurredAt: '2026-11-20T10:00:00.000Z', userId: 'u_1', agentId: 'a', agentVersion: '1',
  intentId: 'i1', action: { name: 'cart.add', vendor: 'v', riskTier: 'low', stateChanging: false },
};

async function reason(value: Buffer | null, max = 65536): Promise<string> {
  try {
    await decodeEvent(value, undefined, max);
  } catch (e) {
    expect(e).toBeInstanceOf(BadEventError);
    expect((e as BadEventError).retriable).toBe(false);
    return `${(e as BadEventError).reason}: ${(e as Error).message}`;
  }
  throw new Error('expected the value to be refused');
}

describe('decodeEvent (without a registry)', () => {
  it('decodes and validates a JSON object', async () => {
    const e = await decodeEvent(Buffer.from(JSON.stringify(event)), undefined, 65536);
    expect(e.eventId).toBe('e1');
    expect(e.ts).toBe(Date.parse(event.occurredAt));
  });

  it('names each kind of bad value', async () => {
    expect(await reason(null)).toBe('empty: the message has no value');
    expect(await reason(Buffer.alloc(0))).toBe('empty: the message has no value');
    expect(await reason(Buffer.from(JSON.stringify(event)), 100)).toMatch(/^oversized: the value is \d+ bytes, over the limit of 100/);
    expect(await reason(Buffer.from('{nope'))).toMatch(/^invalid_json: /);
    expect(await reason(Buffer.from('hello'))).toBe('undecodable: the value is neither Confluent Avro (magic byte 0) nor a JSON object: first byte 0x68, 5 bytes');
    expect(await reason(Buffer.from([0, 0, 0, 0, 1, 2]))).toMatch(/^unknown_schema: the value is Avro .* no schema registry is configured/);
    expect(await reason(Buffer.from(JSON.stringify({ ...event, attempt: 'two' })))).toBe('invalid_event: attempt: must be an integer ≥ 1, got "two"');
  });
});
