/**
 * `node scripts/stack/cli.ts up|down|status [--quiet] [--json]`: the local stack (Kafka, Apicurio
 * Registry, Redis, SMTP sink) for tests and the demo. `up` prints the endpoints as env lines
 * (KAFKA_BROKERS=…) on stdout, progress on stderr; exit 1 with the failing piece and its log on error.
 */
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureStack, stackStatus, stopStack, type StackEndpoints } from './index.ts';

// kafkajs 2.2.4 schedules a negative timeout that Node 24 warns about on every run: noise, not a fault.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'TimeoutNegativeWarning') process.stderr.write(`${w.name}: ${w.message}\n`);
});

const USAGE = 'usage: node scripts/stack/cli.ts up|down|status [--quiet] [--json]';

function envLines(e: StackEndpoints): string {
  return [
    `KAFKA_BROKERS=${e.kafkaBrokers}`,
    `SCHEMA_REGISTRY_URL=${e.schemaRegistryUrl}`,
    `REDIS_URL=${e.redisUrl}`,
    `SMTP_URL=${e.smtpUrl}`,
    `VIGIL_MAIL_DIR=${e.mailDir}`,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { quiet: { type: 'boolean', short: 'q' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    process.stderr.write(`stack: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1 || !['up', 'down', 'status'].includes(command ?? '')) {
    process.stderr.write(`stack: expected one command (up, down or status), got ${positionals.length === 0 ? 'none' : `"${positionals.join(' ')}"`}\n${USAGE}\n`);
    return 2;
  }
  const quiet = values.quiet === true;
  if (command === 'up') {
    const endpoints = await ensureStack({ quiet });
    if (values.json) process.stdout.write(`${JSON.stringify(endpoints, null, 2)}\n`);
    else if (!quiet) process.stdout.write(`${envLines(endpoints)}\n`);
    return 0;
  }
  if (command === 'down') {
    await stopStack({ quiet });
    return 0;
  }
  const status = await stackStatus();
  if (values.json) {
    process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
  } else {
    for (const s of status) {
      const cols = [
        s.piece.padEnd(16),
        s.state.padEnd(11),
        (s.address ?? '-').padEnd(44),
        `pid ${s.pid ?? '-'}`.padEnd(11),
        s.logPath === undefined ? 'log -' : `log ${relative(process.cwd(), s.logPath) || s.logPath}`,
      ];
      process.stdout.write(`${cols.join(' ')}${s.detail === undefined ? '' : `  (${s.detail})`}\n`);
    }
  }
  return status.every((s) => s.state === 'running' || s.state === 'external') ? 0 : 3;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
