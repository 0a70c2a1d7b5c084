import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkajsLogLevel } from './kafkajs-log-level.ts';

const response = (error: string, namespace = 'Connection', level = logLevel.ERROR) => ({
  namespace, level, log: { timestamp: '', logger: 'kafkajs', message: 'Response InitProducerId(key: 22, version: 1)', error, correlationId: 2, size: 20 },
});

describe('the level of a kafkajs log line', () => {
  it('puts the error responses kafkajs retries at debug (two lines a fresh broker gave `npm run demo`)', () => {
    expect(kafkajsLogLevel(response("The coordinator is loading and hence can't process requests for this group"))).toBe('debug');
    expect(kafkajsLogLevel(response('The group coordinator is not available'))).toBe('debug');
    expect(kafkajsLogLevel(response('There is no leader for this topic-partition as we are in the middle of a leadership election'))).toBe('debug');
  });

  it('keeps at error a response kafkajs does not retry, and an error that is not a response', () => {
    expect(kafkajsLogLevel(response('Not authorized to access topics: [Topic authorization failed]'))).toBe('error');
    expect(kafkajsLogLevel(response('SASL Authentication failed'))).toBe('error');
    expect(kafkajsLogLevel(response('something kafkajs has no name for'))).toBe('error');
    expect(kafkajsLogLevel({ namespace: 'Connection', level: logLevel.ERROR, log: { timestamp: '', logger: 'kafkajs', message: 'Connection error: connect ECONNREFUSED 127.0.0.1:19092' } })).toBe('error');
    expect(kafkajsLogLevel(response("The coordinator is loading and hence can't process requests for this group", 'Consumer'))).toBe('error');
  });

  it('keeps warnings, and puts kafkajs info and debug at debug', () => {
    expect(kafkajsLogLevel(response('x', 'Connection', logLevel.WARN))).toBe('warn');
    expect(kafkajsLogLevel(response('x', 'Connection', logLevel.INFO))).toBe('debug');
    expect(kafkajsLogLevel(response('x', 'Connection', logLevel.DEBUG))).toBe('debug');
  });
});
