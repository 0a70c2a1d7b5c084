import { readFileSync } from 'node:fs';

/**
 * CPU seconds and RSS of another process, read from /proc (Linux). The bench runs `vigil run` as a
 * child process so that its CPU and memory are its own, not the harness's.
 */

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on every Linux this runs on). */
const TICKS = 100;

export interface ProcSample {
  /** user + system CPU seconds so far. */
  cpuS: number;
  rssMb: number;
}

export function procSample(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name (field 2) may hold spaces: split after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  return { cpuS: (utime + stime) / TICKS, rssMb: Math.round(rssKb / 102.4) / 10 };
}

/** This process: CPU seconds so far (user + system). */
export function selfCpuS(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
}
