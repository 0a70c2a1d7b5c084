/**
 * Ends a CLI process once its command is done. The exit code is set at once; if something a library
 * left behind (a socket, a timer) still keeps the process alive after `graceMs`, it says what stays open
 * on stderr and exits anyway. The chaos suite found `vigil run` alive 30 s after it had logged `stopped`
 * on SIGTERM: a kafkajs connection opened again after the network had cut the old one survived the
 * clients' disconnects. A command that is done must not hang its supervisor's stop.
 */
export function exitWhenDone(
  code: number,
  o: { graceMs?: number; write?: (line: string) => void; exit?: (code: number) => void; resources?: () => string[]; sockets?: () => string[] } = {},
): NodeJS.Timeout {
  process.exitCode = code;
  const timer = setTimeout(() => {
    const open = (o.resources ?? (() => process.getActiveResourcesInfo()))().filter((r) => r !== 'Timeout' && r !== 'TTYWrap');
    (o.write ?? ((l) => process.stderr.write(l + '\n')))(
      JSON.stringify({
        ts: new Date().toISOString(), level: 'warn', msg: 'done, but something still keeps the process alive: exiting anyway',
        openResources: open, openSockets: (o.sockets ?? openSockets)(), exitCode: code,
      }),
    );
    (o.exit ?? ((c) => process.exit(c)))(code);
  }, o.graceMs ?? 3000);
  // unref: a process that ends by itself within the grace time is not held back by this timer
  timer.unref();
  return timer;
}

/**
 * The TCP sockets still open, as `local port -> remote address:port` (which service: Kafka, Redis, SMTP):
 * what the resource names alone cannot tell. Reads Node's list of active handles (not a public API:
 * an empty list if it is gone).
 */
export function openSockets(): string[] {
  const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
  const out: string[] = [];
  for (const h of handles) {
    const s = h as { remoteAddress?: string; remotePort?: number; localPort?: number; destroyed?: boolean; connecting?: boolean };
    if (typeof s.localPort !== 'number' && typeof s.remotePort !== 'number') continue;
    out.push(`${s.localPort ?? '?'} -> ${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}${s.destroyed ? ' (destroyed)' : s.connecting ? ' (connecting)' : ''}`);
  }
  return out;
}
