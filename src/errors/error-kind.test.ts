import { describe, expect, it } from 'vitest';
import { errorKind } from './error-kind.ts';
import { EventProcessingError, isRetriable, VigilError } from './vigil-error.ts';

const named = (name: string, message = 'x', extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { name, ...extra });

describe('errorKind', () => {
  it('a bug is unknown (retried a few times, then isolated), never transient', () => {
    expect(errorKind(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe('unknown');
    expect(errorKind(new RangeError('Invalid array length'))).toBe('unknown');
    expect(errorKind('a string')).toBe('unknown');
    expect(errorKind(undefined)).toBe('unknown');
    expect(isRetriable(new TypeError('bug'))).toBe(false);
  });

  it("vigil's errors say what they are", () => {
    expect(errorKind(new VigilError('redis down', { retriable: true }))).toBe('transient');
    expect(errorKind(new VigilError('bad', { retriable: false, cause: named('KafkaJSConnectionError') }))).toBe('permanent');
    expect(errorKind(new EventProcessingError('e1', 'a detector', new TypeError('x')))).toBe('permanent');
  });

  it('kafkajs errors are the broker or the set-up (even after its retries ran out), except a record the broker refuses', () => {
    expect(errorKind(named('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED', { retriable: true }))).toBe('transient');
    expect(errorKind(named('KafkaJSNumberOfRetriesExceeded', 'gave up', { retriable: false }))).toBe('transient');
    expect(errorKind(named('KafkaJSProtocolError', 'not authorized', { retriable: false, type: 'TOPIC_AUTHORIZATION_FAILED' }))).toBe('transient');
    expect(errorKind(named('KafkaJSProtocolError', 'too large', { retriable: false, type: 'MESSAGE_TOO_LARGE' }))).toBe('permanent');
  });

  it('connection failures of Redis, fetch, SMTP and TLS are transient, through wrappers too', () => {
    expect(errorKind(named('Error', 'Connection is closed.'))).toBe('transient');
    expect(errorKind(named('MaxRetriesPerRequestError', 'Reached the max retries per request limit'))).toBe('transient');
    expect(errorKind(named('ReplyError', 'LOADING Redis is loading the dataset in memory'))).toBe('transient');
    expect(errorKind(named('ReplyError', 'NOPERM this user has no permissions to run the command'))).toBe('transient');
    expect(errorKind(named('ReplyError', 'ERR Error running script: attempt to compare nil'))).toBe('unknown');
    expect(errorKind(Object.assign(new TypeError('fetch failed'), { cause: named('Error', 'connect ECONNREFUSED', { code: 'ECONNREFUSED' }) }))).toBe('transient');
    expect(errorKind(named('Error', 'Greeting never received', { code: 'ETIMEDOUT' }))).toBe('transient');
    expect(errorKind(named('Error', 'self-signed', { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }))).toBe('transient');
    expect(errorKind(new AggregateError([new TypeError('x'), named('Error', 'y', { code: 'ECONNRESET' })]))).toBe('transient');
  });

  it('a plain retriable flag is honoured; an input refusal is permanent', () => {
    expect(errorKind(Object.assign(new Error('sink down'), { retriable: true }))).toBe('transient');
    expect(errorKind(Object.assign(new Error('bad field'), { retriable: false }))).toBe('permanent');
  });
});
