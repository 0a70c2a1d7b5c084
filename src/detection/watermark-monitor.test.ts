import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { combineWatermarks, explainWatermark } from '../../processors/engine/partition-watermarks.ts';
import { createLogger } from '../observability/logger.ts';
import { WatermarkMetrics } from '../observability/watermark-metrics.ts';
import type { WatermarkStatus } from './detection-handler.ts';
import { WatermarkMonitor } from './watermark-monitor.ts';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');

/** Where event time stands at Redis time `now`: partition 0 flowing up to `wm`, partition 1 never heard from. */
function status(now: number, wm: number): WatermarkStatus {
  const combined = combineWatermarks({ topic: 't', marks: [{ partition: 't/0', watermark: wm, newest: wm + 5000, at: T0 }], partitions: 2, now, idleMs: 30_000, firstSeenAt: T0 });
  return { topic: 't', now, watermark: combined.watermark, settled: combined.watermark, combined, reason: explainWatermark(combined, 30_000), held: 1, resident: 42 };
}

function monitor(statuses: WatermarkStatus[][]) {
  const lines: Record<string, unknown>[] = [];
  const registry = new Registry();
  let i = 0;
  const m = new WatermarkMonitor({
    handler: {
      tick: async () => {
        const s = statuses[Math.min(i++, statuses.length - 1)]!;
        if (s.length === 0) throw new Error('Redis is down');
        return s;
      },
      pendingByKind: async () => ({ orphaned_action: 3 }),
    },
    logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }),
    metrics: new WatermarkMetrics(registry),
    intervalMs: 1000,
    stallLogMs: 60_000,
  });
  return { m, lines, registry };
}

describe('WatermarkMonitor', () => {
  it('logs once a minute while the watermark does not move, naming the partition that holds it back', async () => {
    // partition 1 never spoke and is not idle yet for the first 30 s: nothing settles; then event time stands still
    const ticks = [0, 20_000, 61_000, 90_000, 122_000, 125_000].map((dt) => [status(T0 + dt, -Infinity)]);
    const { m, lines } = monitor(ticks);
    for (let k = 0; k < ticks.length; k++) await m.tickOnce();
    const stalls = lines.filter((l) => l.msg === 'event-time watermark has not moved');
    expect(stalls).toHaveLength(2); // at 61 s and at 122 s, not at 90 s or 125 s
    expect(stalls[0]).toMatchObject({ level: 'warn', topic: 't', stalledSeconds: 61, heldBackBy: null, pendingDecisions: { orphaned_action: 3 }, heldEvents: 1 });
    expect(String(stalls[0]!.why)).toMatch(/^no traffic: every partition has been quiet|^partition t\/1/);
  });

  it('names a partition that has not spoken while it holds event time back', async () => {
    const s = status(T0 + 10_000, T0);
    expect(s.combined.heldBackBy).toBe('t/1');
    expect(s.reason).toBe('partition t/1 has not sent an event yet; it stops holding event time back in 20 s (idle)');
    const { m } = monitor([[s]]);
    await m.tickOnce();
    expect(m.status()[0]).toMatchObject({ topic: 't', watermark: null, heldBackBy: 't/1', partitionsNeverSpoke: 0, heldEvents: 1, pendingDecisions: { orphaned_action: 3 } });
    expect(m.status()[0]!.partitions.map((p) => p.state)).toEqual(['active', 'waiting']);
  });

  it('sets the watermark metrics', async () => {
    const { m, registry } = monitor([[status(T0 + 40_000, T0 + 35_000)]]);
    await m.tickOnce();
    const text = await registry.metrics();
    expect(text).toContain(`vigil_watermark_seconds{topic="t"} ${(T0 + 35_000) / 1000}`);
    expect(text).toContain('vigil_watermark_behind_wall_clock_seconds{topic="t"} 5');
    expect(text).toContain('vigil_watermark_behind_newest_seconds{topic="t"} 5');
    expect(text).toContain('vigil_partition_watermark_seconds{topic="t",partition="0"}');
    expect(text).toContain('vigil_partitions_never_spoke{topic="t"} 1');
    expect(text).toContain('vigil_idle_partitions{topic="t"} 2');
    expect(text).toContain('vigil_pending_decisions{kind="orphaned_action"} 3');
    expect(text).toContain('vigil_events_held{topic="t"} 1');
    expect(text).toContain('vigil_detector_resident_slices{topic="t"} 42');
  });

  it('keeps going when a tick fails, saying so once', async () => {
    const { m, lines } = monitor([[], [], [status(T0, T0)]]);
    await m.tickOnce();
    await m.tickOnce();
    expect(m.lastError?.message).toBe('Redis is down');
    expect(lines.filter((l) => l.msg === 'event-time tick failed; retrying')).toHaveLength(1);
    await m.tickOnce();
    expect(m.lastError).toBeUndefined();
  });
});
