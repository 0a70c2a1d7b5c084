import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { startTracing } from '../../src/observability/tracing.ts';

/**
 * Tracing's default protocol, OTLP/HTTP protobuf, reaches a real HTTP endpoint (the loop test reads
 * JSON spans from a real `vigil run`; this one checks the default encoding and that tracing is off
 * unless enabled).
 */
describe('startTracing', () => {
  const requests: { path: string | undefined; type: string | undefined; body: Buffer }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url, type: req.headers['content-type'], body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('is off by default', async () => {
    expect(await startTracing(loadConfig({}).tracing, silentLogger)).toBeUndefined();
  });

  it('exports spans as OTLP/HTTP protobuf to the configured endpoint when enabled', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const config = loadConfig({ VIGIL_TRACING_ENABLED: 'true', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${port}/v1/traces`, OTEL_SERVICE_NAME: 'vigil-proto-check' });
    const tracing = (await startTracing(config.tracing, silentLogger))!;
    tracing.tracer.startSpan('process proto-check-topic', { attributes: { 'messaging.system': 'kafka' } }).end();
    await tracing.flush();
    await tracing.shutdown();
    const got = requests.find((r) => r.path === '/v1/traces');
    expect(got?.type).toBe('application/x-protobuf');
    // Protobuf carries strings as UTF-8 bytes: the span name, the attribute and the service name are in the body.
    const text = got!.body.toString('latin1');
    expect(text).toContain('process proto-check-topic');
    expect(text).toContain('messaging.system');
    expect(text).toContain('vigil-proto-check');
  });
});
