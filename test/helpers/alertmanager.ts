import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianBinary } from '../../scripts/tools/debian-tools.ts';
import { freePort } from './redis-server.ts';
import { waitFor } from './wait.ts';

/** One alert as Alertmanager's v2 API lists it (the fields the tests look at). */
export interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: 'active' | 'suppressed' | 'unprocessed' };
}

export interface AlertmanagerHandle {
  url: string;
  /** GET /api/v2/alerts (active ones, unless `all` asks for inactive ones too). */
  alerts(all?: boolean): Promise<GettableAlert[]>;
  stop(): Promise<void>;
  /** What it printed (for a failing test's message). */
  log(): string;
}

/** Where Debian's build of Alertmanager reads its default notification templates (a Debian patch). */
const DEBIAN_TEMPLATES = '/usr/share/prometheus/alertmanager';

/**
 * The Debian binary, with its default templates where it looks for them: a Debian patch makes it read
 * default.tmpl and email.tmpl from /usr/share/prometheus/alertmanager instead of embedding them, so
 * they are copied there from the extracted package when absent (root, as CI runs; no daemon, no
 * service manager involved).
 */
export async function ensureAlertmanagerBinary(): Promise<string> {
  const bin = await ensureDebianBinary('prometheus-alertmanager', 'prometheus-alertmanager');
  const pkgTemplates = join(bin, '..', '..', 'share', 'prometheus', 'alertmanager');
  for (const f of ['default.tmpl', 'email.tmpl']) {
    const target = join(DEBIAN_TEMPLATES, f);
    if (existsSync(target)) continue;
    try {
      mkdirSync(DEBIAN_TEMPLATES, { recursive: true });
      copyFileSync(join(pkgTemplates, f), target);
    } catch (e) {
      throw new Error(`Debian's Alertmanager needs ${target} (from the prometheus-alertmanager package) and it cannot be written here (${(e as Error).message}): run the tests as root, or: sudo apt-get install prometheus-alertmanager`);
    }
  }
  return bin;
}

/**
 * A real Prometheus Alertmanager (the binary of Debian's prometheus-alertmanager package, fetched
 * into ~/.cache/vigil/debian on first use by scripts/tools/debian-tools.ts), on free ports, no
 * clustering, with a temporary config that routes every alert by e-mail to `smtp` (host:port) and `to`.
 */
export async function startAlertmanager(smtp: { host: string; port: number; to: string }): Promise<AlertmanagerHandle> {
  const bin = await ensureAlertmanagerBinary();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-am-'));
  const port = await freePort();
  const config = join(dir, 'alertmanager.yml');
  writeFileSync(config, [
    'global:',
    `  smtp_smarthost: '${smtp.host}:${smtp.port}'`,
    "  smtp_from: 'alertmanager@vigil.test'",
    '  smtp_require_tls: false',
    '  resolve_timeout: 5m',
    'route:',
    '  receiver: oncall-email',
    "  group_by: ['alertname', 'kind', 'scope_type', 'scope_id']",
    '  group_wait: 1s',
    '  group_interval: 2s',
    '  repeat_interval: 4h',
    'receivers:',
    '  - name: oncall-email',
    '    email_configs:',
    `      - to: '${smtp.to}'`,
    '        send_resolved: true',
    '',
  ].join('\n'));
  const out: string[] = [];
  const child: ChildProcess = spawn(bin, [
    `--config.file=${config}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => (await fetch(`${url}/-/ready`)).ok, { timeoutMs: 30_000, description: `Alertmanager on ${url} to be ready` });
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n${out.join('')}`);
  }
  return {
    url,
    async alerts(all = false) {
      const q = all ? '?active=true&inhibited=true&silenced=true&unprocessed=true' : '';
      const res = await fetch(`${url}/api/v2/alerts${q}`);
      if (!res.ok) throw new Error(`GET /api/v2/alerts: HTTP ${res.status}`);
      return (await res.json()) as GettableAlert[];
    },
    stop,
    log: () => out.join(''),
  };
}
