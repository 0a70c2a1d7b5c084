import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';
import { pseudonym, redact, redactFields } from './redact.ts';

describe('redact', () => {
  it('masks credentials in URLs, key=value pairs and bearer tokens', () => {
    expect(redact('Redis at rediss://vigil:s3cr3t@10.0.0.5:6380/0 is down')).toBe('Redis at rediss://vigil:***@10.0.0.5:6380/0 is down');
    expect(redact('redis://:onlypw@h:1,redis://:pw2@h:2')).toBe('redis://:***@h:1,redis://:***@h:2');
    expect(redact('smtp://user:p%40ss@mail:25')).toBe('smtp://user:***@mail:25');
    expect(redact('GET /x?token=abc123&a=1 password=hunter2')).toBe('GET /x?token=***&a=1 password=***');
    expect(redact('Authorization: Bearer eyJhbGciOi.x.y')).toBe('Authorization: Bearer ***');
    expect(redact('http://127.0.0.1:8081/apis/ccompat/v7')).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
  });

  it('masks personal data and pseudonymises user ids, leaving ordinary text alone', () => {
    expect(redact('forced by alice@example.com: maintenance')).toBe('forced by [email]: maintenance');
    expect(redact('call +44 20 7946 0958 or (415) 555-0123')).toBe('call [phone] or [phone]');
    expect(redact('card 4111 1111 1111 1111 used')).toBe('card [card] used');
    expect(redact('breaker user:u_4f2a opened; vendor:acme-air too')).toBe(`breaker user:${pseudonym('u_4f2a')} opened; vendor:acme-air too`);
    expect(pseudonym('u_4f2a')).toMatch(/^#[0-9a-f]{8}$/);
    expect(redact(`user:${pseudonym('u_4f2a')}`)).toBe(`user:${pseudonym('u_4f2a')}`); // stable
    expect(redact('ev-123 at 2026-11-20T10:00:00.000Z, order 1234567890123 (not Luhn)')).toBe('ev-123 at 2026-11-20T10:00:00.000Z, order 1234567890123 (not Luhn)');
  });

  it('replaces fields named like secrets whole, in nested objects too', () => {
    expect(redactFields({ password: 'x', adminToken: 'y', nested: { saslPassword: 'z', ok: 'redis://a:b@h:1' }, flag: true, n: 3 })).toEqual({
      password: '[redacted]', adminToken: '[redacted]', nested: { saslPassword: '[redacted]', ok: 'redis://a:***@h:1' }, flag: true, n: 3,
    });
  });

  it('the logger applies it to messages, fields, and errors with their stack and cause', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', write: (l) => lines.push(l) });
    const cause = new Error('connect to redis://vigil:pw-1@h:6379 refused for bob@example.com');
    log.error('Redis at redis://vigil:pw-1@h:6379 failed', { url: 'redis://vigil:pw-1@h:6379', password: 'pw-1', breaker: 'user:u_9', error: new Error('outer', { cause }) });
    const text = lines.join('\n');
    expect(text).not.toContain('pw-1');
    expect(text).not.toContain('bob@example.com');
    expect(text).not.toContain('user:u_9');
    expect(JSON.parse(lines[0]!).error.cause.message).toBe('connect to redis://vigil:***@h:6379 refused for [email]');
    expect(JSON.parse(lines[0]!).error.stack).toMatch(/^Error: outer/);
  });
});
