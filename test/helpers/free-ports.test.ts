import { describe, expect, it } from 'vitest';
import { freePorts } from './redis-server.ts';

describe('freePorts', () => {
  // Ports drawn one after another can repeat (CI once gave a test broker the same port for two
  // listeners, and Kafka refused to start); 500 draws at random from the ephemeral range would repeat
  // almost surely, so this fails if the ports stop being held open together.
  it('gives n distinct ports in range', async () => {
    const ports = await freePorts(500);
    expect(ports).toHaveLength(500);
    expect(new Set(ports).size).toBe(500);
    for (const p of ports) expect(Number.isInteger(p) && p > 0 && p < 65536).toBe(true);
  });
});
