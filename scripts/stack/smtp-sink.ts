/**
 * The stack's SMTP sink: a real SMTP server (npm smtp-server; no auth, no TLS, loopback only) that stores
 * every message it accepts as <mail-dir>/<time>-<seq>-<rand>.eml, written to a tmp file and renamed so a
 * reader never sees half a message. The envelope is prepended as X-Envelope-From / X-Envelope-To headers.
 *
 * Run detached by scripts/stack/smtp-piece.ts:
 *   node scripts/stack/smtp-sink.ts --port 12525 --mail-dir .vigil/stack/mail
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SMTPServer } from 'smtp-server';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'mail-dir': { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    // docker-compose.yml only: inside a container the port must be reachable through Docker's mapping.
    'in-container': { type: 'boolean', default: false },
  },
});
const port = Number(values.port);
const mailDir = values['mail-dir'];
if (!Number.isInteger(port) || port < 1 || port > 65535 || mailDir === undefined) {
  console.error(`smtp-sink: usage: smtp-sink.ts --port <1-65535> --mail-dir <dir> (got port "${values.port ?? ''}", mail-dir "${mailDir ?? ''}")`);
  process.exit(2);
}
if (!values['in-container'] && values.host !== '127.0.0.1' && values.host !== 'localhost' && values.host !== '::1') {
  console.error(`smtp-sink: --host must be a loopback address (no auth, no TLS), got "${values.host}"`);
  process.exit(2);
}
mkdirSync(mailDir, { recursive: true });

let seq = 0;
const server = new SMTPServer({
  name: 'vigil-smtp-sink',
  banner: 'vigil smtp sink',
  secure: false,
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  size: 25 * 1024 * 1024,
  logger: false,
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', callback);
    stream.on('end', () => {
      try {
        const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
        const to = session.envelope.rcptTo.map((r) => r.address).join(', ');
        const envelope = Buffer.from(`X-Envelope-From: <${from}>\r\nX-Envelope-To: ${to}\r\n`);
        const name = `${Date.now()}-${String(++seq).padStart(6, '0')}-${randomBytes(4).toString('hex')}.eml`;
        const tmp = join(mailDir, `.${name}.tmp`);
        writeFileSync(tmp, Buffer.concat([envelope, ...chunks]));
        renameSync(tmp, join(mailDir, name));
        console.log(`${new Date().toISOString()} stored ${name} from <${from}> to ${to}`);
        callback(null, `stored as ${name}`);
      } catch (e) {
        console.error(`${new Date().toISOString()} could not store a message: ${(e as Error).message}`);
        callback(e as Error);
      }
    });
  },
});
server.on('error', (e) => console.error(`${new Date().toISOString()} smtp error: ${e.message}`));
server.listen(port, values.host, () => console.log(`${new Date().toISOString()} smtp sink listening on ${values.host}:${port}, mail in ${mailDir}`));

const stop = (): void => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
