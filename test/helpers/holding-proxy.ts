import { createConnection, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of a server (Redis) that forwards everything until a client's data matches
 * `holdOn`; from then on it holds that connection's client→server bytes (the command is "in the
 * network": sent by the client, not yet seen by Redis) until release(), which forwards them late, even
 * if the client has gone meanwhile. What a partition during a write looks like to both ends.
 */
export interface HoldingProxy {
  port: number;
  url: string;
  /** Resolves when a client's data has matched and is being held. */
  held: Promise<void>;
  /** Forwards what was held (and everything after), then behaves as a plain proxy. */
  release(): void;
  close(): Promise<void>;
}

export async function startHoldingProxy(targetPort: number, holdOn: RegExp): Promise<HoldingProxy> {
  let holding = false;
  let released = false;
  const queued: (() => void)[] = [];
  let onHeld!: () => void;
  const held = new Promise<void>((r) => (onHeld = r));
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    sockets.add(client).add(upstream);
    let mine = false;
    client.on('data', (d: Buffer) => {
      if (!released && !holding && holdOn.test(d.toString('latin1'))) {
        holding = true;
        mine = true;
        onHeld();
      }
      if (mine && !released) queued.push(() => upstream.write(d));
      else upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => client.writable && client.write(d));
    // A client that leaves while its bytes are held: they still reach the server on release.
    client.on('close', () => {
      if (mine && !released) queued.push(() => setTimeout(() => upstream.end(), 500));
      else upstream.end();
    });
    upstream.on('close', () => client.destroy());
    client.on('error', () => {});
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    held,
    release() {
      released = true;
      for (const f of queued.splice(0)) f();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
