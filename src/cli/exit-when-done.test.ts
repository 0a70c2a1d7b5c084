import { afterEach, describe, expect, it } from 'vitest';
import { exitWhenDone, openSockets } from './exit-when-done.ts';

describe('exitWhenDone: a CLI command that is done ends its process', () => {
  const saved = process.exitCode;
  afterEach(() => {
    process.exitCode = saved;
  });

  it('sets the exit code at once, and after the grace time exits anyway, naming what stays open', async () => {
    const lines: string[] = [];
    const exits: number[] = [];
    exitWhenDone(2, { graceMs: 20, write: (l) => lines.push(l), exit: (c) => exits.push(c), resources: () => ['TCPSocketWrap', 'Timeout'], sockets: () => ['50123 -> 127.0.0.1:19092'] });
    expect(process.exitCode).toBe(2);
    expect(exits).toEqual([]);
    await new Promise((r) => setTimeout(r, 60));
    expect(exits).toEqual([2]);
    const line = JSON.parse(lines[0]!) as { msg: string; openResources: string[]; openSockets: string[]; exitCode: number };
    expect(line.openResources).toEqual(['TCPSocketWrap']);
    expect(line.openSockets).toEqual(['50123 -> 127.0.0.1:19092']);
    expect(line.exitCode).toBe(2);
  });

  it('names the TCP sockets still open by their remote end', async () => {
    const { createServer, connect } = await import('node:net');
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    try {
      expect(openSockets()).toContain(`${socket.localPort} -> 127.0.0.1:${port}`);
    } finally {
      socket.destroy();
      server.close();
    }
  });

  it('holds nothing open itself: its timer is unref-ed', () => {
    const t = exitWhenDone(0, { graceMs: 10_000, exit: () => {} });
    expect(t.hasRef()).toBe(false);
    clearTimeout(t);
  });
});
