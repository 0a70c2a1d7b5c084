import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { findJavaRuntimes, pickJava } from '../../scripts/stack/java-finder.ts';
import { kafkaHealthy, startKafkaBroker, warmUp } from '../../scripts/stack/kafka-piece.ts';
import { loadStackConfig } from '../../scripts/stack/stack-config.ts';
import { freePorts } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * A Kafka broker of the chaos suite's own (scripts/stack/kafka-piece.ts startKafkaBroker, the stack's
 * cached jars), beside the shared one, that the suite stops and starts again with its data kept.
 * Two listeners: PLAINTEXT (`direct`: the suite's producer and readers) and PROXIED, which advertises
 * `proxyPort`, so a client bootstrapped there (the monitor) keeps going through the suite's TCP proxy.
 */
export interface OwnKafka {
  /** host:port the suite itself uses. */
  readonly direct: string;
  /** The PROXIED listener's real port: the proxy forwards to it. */
  readonly proxiedPort: number;
  /** The port the PROXIED listener advertises: the proxy listens there. */
  readonly proxyPort: number;
  /** Stops the broker (SIGTERM, a controlled shutdown) and waits for its exit. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data; resolves once an admin client gets an answer. */
  start(): Promise<void>;
  /** Stops it and removes its home. */
  dispose(): Promise<void>;
}

export async function startOwnKafka(home: string): Promise<OwnKafka> {
  const stack = loadStackConfig();
  const java = pickJava(findJavaRuntimes(stack.javaHomeEnv, stack.childEnv.PATH ?? ''), 17);
  if (java === undefined) throw new Error('Kafka 4 needs Java 17 or newer');
  mkdirSync(home, { recursive: true });
  const [port, controllerPort, proxiedPort, proxyPort] = await freePorts(4);
  let stopBroker: (() => Promise<void>) | undefined;
  const direct = `127.0.0.1:${port}`;
  const start = async () => {
    const broker = await startKafkaBroker({
      java,
      cacheDir: stack.cacheDir,
      version: stack.kafkaVersion,
      pomPath: join(stack.repoDir, 'scripts', 'stack', 'kafka', 'pom.xml'),
      childEnv: { ...stack.childEnv },
      home,
      port,
      controllerPort,
      listeners: [{ name: 'PROXIED', port: proxiedPort, advertisedPort: proxyPort }],
      properties: { 'num.partitions': '3' },
      keepStorage: true,
    });
    stopBroker = broker.stop;
    await waitFor(() => kafkaHealthy(direct, 3000), { timeoutMs: 60_000, intervalMs: 250, description: `the chaos broker on ${direct}` });
    // the group coordinator answers (__consumer_offsets is there) before anyone is told the broker is up
    await warmUp(direct, 60_000);
  };
  const stop = async () => {
    const s = stopBroker;
    stopBroker = undefined;
    await s?.();
  };
  await start();
  return {
    direct,
    proxiedPort,
    proxyPort,
    stop,
    start,
    async dispose() {
      await stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
