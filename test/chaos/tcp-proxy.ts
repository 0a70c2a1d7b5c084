import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy of the chaos suite's own (node:net) between the monitor and a service (Redis, a Kafka
 * listener): it forwards bytes both ways, can add latency to every chunk (order kept), cut every open
 * connection at once (as a network blip or a load balancer would), and refuse new connections for a while.
 */
export interface TcpProxy {
  readonly port: number;
  readonly stats: { connections: number; cuts: number; connectionsCut: number };
  /** Delay every chunk by this many ms from now on (0: none). */
  setLatency(ms: number): void;
  /** Destroys every open connection (both sides); returns how many there were. */
  cut(): number;
  /** While true, new connections are accepted and closed at once. */
  refuse(on: boolean): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, opts: { host?: string; port?: number } = {}): Promise<TcpProxy> {
  const host = opts.host ?? '127.0.0.1';
  let latency = 0;
  let refusing = false;
  const open = new Set<Socket>();
  const stats = { connections: 0, cuts: 0, connectionsCut: 0 };

  /** Writes chunks from `from` to `to`, each `latency` ms late, never out of order. */
  const pipe = (from: Socket, to: Socket) => {
    let lastDue = 0;
    from.on('data', (chunk: Buffer) => {
      if (latency <= 0 && lastDue <= Date.now()) {
        if (!to.destroyed) to.write(chunk);
        return;
      }
      const due = Math.max(Date.now() + latency, lastDue);
      lastDue = due;
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, due - Date.now());
    });
  };

  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    stats.connections++;
    const upstream = createConnection({ host, port: targetPort });
    open.add(client);
    open.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    stats,
    setLatency(ms) {
      latency = Math.max(0, ms);
    },
    cut() {
      const n = open.size / 2;
      for (const s of open) s.destroy();
      open.clear();
      stats.cuts++;
      stats.connectionsCut += n;
      return n;
    },
    refuse(on) {
      refusing = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        open.clear();
        server.close(() => resolve());
      }),
  };
}
