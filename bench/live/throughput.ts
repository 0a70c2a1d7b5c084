import { Writable } from 'node:stream';
import type { Admin, Kafka } from 'kafkajs';
import { replayCommand } from '../../src/cli/replay.ts';
import { startMonitorChild, type MonitorChild } from './monitor-child.ts';
import { waitForCommits } from './group-progress.ts';
import { selfCpuS } from './proc-stats.ts';
import { briefOf } from './findings-tail.ts';

/** One timed pass over the events: wall seconds from the first event to the last, CPU of the process(es) doing it. */
export interface Timed {
  events: number;
  wallS: number;
  cpuS: number;
  /** RSS of the monitor process(es) at the end, MB (children only). */
  rssMb?: number;
}

const say = (s: string) => process.stdout.write(s + '\n');

/**
 * (a) A bare kafkajs consumer in this process that only counts the messages (no decoding), with the
 * ingest consumer's fetch settings; offsets committed by kafkajs. Clock: first batch → last message.
 */
export async function bareConsumer(kafka: Kafka, topic: string, groupId: string, total: number): Promise<Timed> {
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxBytesPerPartition: 1024 * 1024 });
  let seen = 0;
  let t0 = 0;
  let c0 = 0;
  let resolve!: (t: Timed) => void;
  const done = new Promise<Timed>((r) => (resolve = r));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      if (seen === 0) {
        t0 = performance.now();
        c0 = selfCpuS();
      }
      seen += batch.messages.length;
      if (seen >= total) resolve({ events: total, wallS: (performance.now() - t0) / 1000, cpuS: selfCpuS() - c0 });
    },
  });
  const t = await done;
  await consumer.disconnect();
  return t;
}

/**
 * (b) `vigil run` as child process(es), `instances` of them in one consumer group (same env: group,
 * Redis prefix, output topics). Clock: the group's first commit → the commit that covers the topic
 * (polled every 100 ms); CPU: the children's, over that span, from /proc. The children keep running
 * (the caller waits for their last findings, then calls stopAll).
 */
export async function vigilRunChildren(
  name: string,
  env: NodeJS.ProcessEnv,
  instances: number,
  admin: Admin,
  total: number,
): Promise<{ timed: Timed; children: MonitorChild[] }> {
  const children = Array.from({ length: instances }, (_, i) => startMonitorChild(`${name}#${i + 1}`, env));
  const cpuAt = () => children.reduce((s, c) => s + c.sample().cpuS, 0);
  let c0 = 0;
  let c1 = 0;
  try {
    const p = await waitForCommits(admin, env.KAFKA_GROUP_ID!, env.VIGIL_TOPIC_ACTIONS!, total, {
      onFirst: () => (c0 = cpuAt()),
      onDone: () => (c1 = cpuAt()),
      onProgress: (n) => say(`  ${name}: ${n.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} committed…`),
      alive: () => {
        const dead = children.find((c) => c.proc.exitCode !== null || c.proc.signalCode !== null);
        return dead ? `${dead.name} (vigil run) exited ${dead.proc.exitCode ?? dead.proc.signalCode}: ${dead.tail()}` : undefined;
      },
    });
    const rssMb = children.reduce((s, c) => s + c.sample().rssMb, 0);
    return { timed: { events: total, wallS: (p.doneAt - p.firstAt) / 1000, cpuS: c1 - c0, rssMb }, children };
  } catch (e) {
    await stopAll(children);
    throw e;
  }
}

export async function stopAll(children: MonitorChild[]): Promise<void> {
  const codes = await Promise.all(children.map((c) => c.stop()));
  codes.forEach((code, i) => {
    if (code !== 0) say(`  warning: ${children[i]!.name} exited ${code}: ${children[i]!.tail().slice(-800)}`);
  });
}

/**
 * (c) `vigil replay --workers 1` of the events file, in this process (replayCommand, the CLI's code),
 * findings as JSON Lines collected by id. Clock: the call; CPU: this process over it.
 */
export async function replayFile(file: string, total: number): Promise<{ timed: Timed; findings: Map<string, string>; summary: string }> {
  const findings = new Map<string, string>();
  let partial = '';
  const stdout = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const text = partial + chunk.toString();
      const lines = text.split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        if (!l) continue;
        const f = JSON.parse(l) as Parameters<typeof briefOf>[0];
        findings.set(f.findingId, briefOf(f));
      }
      cb();
    },
  });
  let stderr = '';
  const err = new Writable({
    write(chunk: Buffer, _enc, cb) {
      stderr += chunk.toString();
      if (stderr.length > 1 << 20) stderr = stderr.slice(-(1 << 19));
      cb();
    },
  });
  const c0 = selfCpuS();
  const t0 = performance.now();
  const code = await replayCommand([file, '--format', 'jsonl', '--workers', '1'], { stdout, stderr: err, stdin: process.stdin });
  const wallS = (performance.now() - t0) / 1000;
  const cpuS = selfCpuS() - c0;
  if (code !== 0) throw new Error(`vigil replay exited ${code}: ${stderr.slice(-2000)}`);
  return { timed: { events: total, wallS, cpuS }, findings, summary: stderr.trim().split('\n').at(-1) ?? '' };
}
