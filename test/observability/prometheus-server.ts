import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianBinary } from '../../scripts/tools/debian-tools.ts';
import { freePort } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';

export interface PrometheusHandle {
  url: string;
  /** An instant query; the result vector. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Active alerts (pending and firing). */
  alerts(): Promise<{ labels: Record<string, string>; annotations: Record<string, string>; state: string }[]>;
  log(): string;
  stop(): Promise<void>;
}

/**
 * The real Prometheus server (Debian's `prometheus` package, fetched into the cache on first use) on a
 * free port with a temporary data directory, scraping `target` as job `vigil` and evaluating
 * `ruleFiles`, both every `intervalSeconds`. Resolves once it is ready. Pass `port` when the target's
 * port is not bound yet (a free port drawn now could be the target's own).
 */
export async function startPrometheus(opts: { target: string; ruleFiles: string[]; intervalSeconds?: number; port?: number }): Promise<PrometheusHandle> {
  const bin = await ensureDebianBinary('prometheus', 'prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'vigil-prometheus-'));
  const port = opts.port ?? (await freePort());
  const every = `${opts.intervalSeconds ?? 1}s`;
  const config = [
    'global:',
    `  scrape_interval: ${every}`,
    `  scrape_timeout: ${every}`,
    `  evaluation_interval: ${every}`,
    'rule_files:',
    ...opts.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`),
    'scrape_configs:',
    '  - job_name: vigil',
    '    static_configs:',
    `      - targets: [${JSON.stringify(opts.target)}]`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const output: string[] = [];
  const proc: ChildProcess = spawn(bin, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  proc.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      await new Promise<void>((r) => {
        proc.once('exit', () => r());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`prometheus exited with ${proc.exitCode}: ${output.join('')}`);
      return (await fetch(`${url}/-/ready`)).ok;
    }, { timeoutMs: 30_000, description: 'Prometheus to be ready' });
  } catch (e) {
    await stop();
    throw e;
  }
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(url + path);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    query: async (expr) => (await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    alerts: async () => (await api<{ alerts: { labels: Record<string, string>; annotations: Record<string, string>; state: string }[] }>('/api/v1/alerts')).alerts,
    log: () => output.join(''),
    stop,
  };
}
