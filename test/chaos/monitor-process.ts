import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/child-process.ts';

/**
 * `vigil run` as a real child process (node src/cli/main.ts run, the project's Node), with the env the
 * suite gives it and HTTP and metrics ports of its own, so /readyz and /metrics can be asked. Its log
 * (JSON lines on stderr) is kept, the last lines for error messages and every line for counting.
 */
export interface MonitorProcess {
  readonly name: string;
  /** The ports it listens on (0 until its log says: it binds free ports itself, so no other process can take them first). */
  readonly httpPort: number;
  readonly metricsPort: number;
  readonly proc: ChildProcess;
  /** Parsed log lines (JSON on stderr). */
  readonly log: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
  /** True once the breaker API answers /healthz (the monitor has started: the consumer joined). */
  ready(): Promise<boolean>;
  /** GET /readyz: the status code and body (undefined when it does not answer). */
  readyz(): Promise<{ status: number; body: Record<string, unknown> } | undefined>;
  /** GET /metrics as text (undefined when it does not answer). */
  metrics(): Promise<string | undefined>;
  /** Sends SIGKILL and waits for the exit. */
  kill(): Promise<void>;
  /** Sends SIGTERM (a graceful stop) and resolves with the exit code; after `timeoutMs` without an exit, SIGKILLs it and resolves with 'timeout'. */
  stop(timeoutMs?: number): Promise<number | null | 'timeout'>;
  /** The last lines of its log, for error messages. */
  tail(n?: number): string;
}

/** `logDir`: every log line is also appended to `<logDir>/<name>.log` (VIGIL_CHAOS_LOG_DIR keeps a run's logs for a post-mortem). */
export async function startMonitorProcess(name: string, env: NodeJS.ProcessEnv, logDir?: string): Promise<MonitorProcess> {
  // a log directory that does not exist yet is made (it failed every append before, and the monitor never looked ready)
  if (logDir) mkdirSync(logDir, { recursive: true });
  const ports = { http: 0, metrics: 0 };
  const proc = spawn(process.execPath, ['src/cli/main.ts', 'run'], {
    cwd: REPO_ROOT,
    // port 0: the monitor binds free ports and logs them ("metrics served", "breaker API served", info level)
    env: { ...process.env, ...env, VIGIL_HTTP_PORT: '0', VIGIL_METRICS_PORT: '0', VIGIL_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: Record<string, unknown>[] = [];
  const raw: string[] = [];
  let buf = '';
  proc.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      raw.push(line);
      if (logDir) appendFileSync(join(logDir, `${name}.log`), line + '\n');
      if (raw.length > 2000) raw.shift();
      try {
        const l = JSON.parse(line) as Record<string, unknown>;
        log.push(l);
        const port = typeof l.url === 'string' ? Number(new URL(l.url).port) : 0;
        if (l.msg === 'metrics served') ports.metrics = port;
        if (l.msg === 'breaker API served') ports.http = port;
      } catch {
        /* not a JSON line */
      }
    }
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const get = async (port: number, path: string): Promise<Response | undefined> => {
    if (port === 0) return undefined;
    try {
      return await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
    } catch {
      return undefined;
    }
  };
  const gone = () => proc.exitCode !== null || proc.signalCode !== null;
  const kill = async () => {
    if (!gone()) proc.kill('SIGKILL');
    await exited;
  };
  return {
    name,
    get httpPort() {
      return ports.http;
    },
    get metricsPort() {
      return ports.metrics;
    },
    proc,
    log,
    exited,
    async ready() {
      const r = await get(ports.http, '/healthz');
      return r?.status === 200;
    },
    async readyz() {
      const r = await get(ports.http, '/readyz');
      if (!r) return undefined;
      return { status: r.status, body: (await r.json().catch(() => ({}))) as Record<string, unknown> };
    },
    async metrics() {
      const r = await get(ports.metrics, '/metrics');
      return r?.status === 200 ? await r.text() : undefined;
    },
    kill,
    async stop(timeoutMs = 30_000) {
      if (!gone()) proc.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
      const code = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (code === 'timeout') await kill();
      return code;
    },
    tail(n = 30) {
      return raw.filter((l) => !l.includes('rebalancing')).slice(-n).join('\n');
    },
  };
}

/** The value of one metric series in Prometheus text (the sum over series matching `labels`), or undefined. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum = (sum ?? 0) + v;
  }
  return sum;
}
