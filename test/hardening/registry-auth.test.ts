import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVigilError } from '../../src/errors/vigil-error.ts';
import { EventDecoder, encodeEvent } from '../../src/kafka/event-codec.ts';
import { registerSchemas, type RegistryConnection } from '../../src/kafka/schema-registry.ts';
import { avroSchema } from '../../src/kafka/schemas.ts';
import { makeEvents } from '../fixtures/make-events.ts';
import { removeDir } from '../helpers/redis-server.ts';
import { stackEndpoints } from '../helpers/stack-env.ts';
import { makeTestCerts } from '../helpers/test-certs.ts';
import { randomName } from '../helpers/wait.ts';

/**
 * The schema registry behind HTTPS and basic authentication: a small proxy of the test's own (TLS with
 * the test's CA, a 401 without the right credentials) in front of the shared Apicurio. vigil registers
 * its schemas and fetches writer schemas through it with SCHEMA_REGISTRY_USERNAME/PASSWORD and
 * SCHEMA_REGISTRY_CA_FILE; wrong credentials or an untrusted certificate fail clearly.
 */
describe('schema registry over HTTPS with basic auth', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-registry-auth-'));
  const certs = makeTestCerts(dir);
  let server: Server;
  let url: string;
  let upstream: URL;
  const seenAuth: string[] = [];

  beforeAll(async () => {
    upstream = new URL(stackEndpoints().schemaRegistryUrl);
    server = createServer({ key: readFileSync(certs.key), cert: readFileSync(certs.cert) }, (req, res) => {
      seenAuth.push(req.headers.authorization ?? '');
      if (req.headers.authorization !== `Basic ${Buffer.from('vigil:reg-pw-19').toString('base64')}`) {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="registry"' });
        return res.end(JSON.stringify({ error_code: 40101, message: 'Unauthorized' }));
      }
      const fwd = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host, authorization: '' } }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      fwd.on('error', () => res.writeHead(502).end());
      req.pipe(fwd);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}${upstream.pathname}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    removeDir(dir);
  });

  const conn = (over: Partial<RegistryConnection> = {}): RegistryConnection => ({ url, auth: { username: 'vigil', password: 'reg-pw-19' }, caFile: certs.ca, ...over });

  it('registers schemas and decodes Avro through it', async () => {
    const topic = `${randomName('reg')}.agent.actions`;
    const schemas = await registerSchemas(conn(), { 'agent-action': topic });
    const event = makeEvents(1)[0]!;
    const fields = (avroSchema('agent-action').fields as { name: string }[]).map((f) => f.name);
    const value = await encodeEvent(event as unknown as Record<string, unknown>, { registry: schemas.registry, schemaId: schemas.ids['agent-action']!, fields });
    // a fresh decoder fetches the writer schema by id, through the proxy, with the credentials
    const fresh = await registerSchemas(conn(), { 'agent-action': topic });
    const decoder = new EventDecoder(fresh.registry, 65536);
    await decoder.loadSchemas([{ value }]);
    expect(decoder.decode(value).eventId).toBe(event.eventId);
    expect(seenAuth.length).toBeGreaterThan(0);
    expect(seenAuth.every((a) => a.startsWith('Basic '))).toBe(true);
  });

  it('wrong credentials: a non-retriable error naming the refusal, without the password', async () => {
    const e = await registerSchemas(conn({ auth: { username: 'vigil', password: 'nope-nope' } }), { 'agent-action': `${randomName('reg')}.a` }).catch((x: unknown) => x);
    expect(isVigilError(e)).toBe(true);
    expect((e as { retriable: boolean }).retriable).toBe(false);
    expect((e as Error).message).toMatch(/Unauthorized|401/);
    expect((e as Error).message).not.toContain('nope-nope');
  });

  it('a certificate not signed by the CA given is refused (verification is never off)', async () => {
    const e = await registerSchemas(conn({ caFile: certs.otherCa }), { 'agent-action': `${randomName('reg')}.a` }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Error);
    expect(String((e as Error).message)).toMatch(/certificate|self[- ]signed|verify/i);
  });
});
