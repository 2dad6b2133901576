import { describe, expect, it } from 'vitest';
import type { PollTask } from '../../../shared/core/pollTask.js';
import type { PollTaskQueue } from '../../../shared/ports.js';
import { scheduleDiscovery } from '../../../shared/usecases/scheduleDiscovery.js';
import { ManualClock, RecordingLogger, RecordingMetrics } from '../../fakes/ports.js';

const tenants = Array.from({ length: 4 }, (_, i) => `0000000${i}-1111-4111-8111-111111111111`);
const streams = tenants.flatMap((tenantId) => (['Audit.Exchange', 'Audit.General'] as const).map((contentType) => ({ tenantId, contentType })));

function recordingQueue(failFor?: string): PollTaskQueue & { sent: { task: PollTask; delay: number }[] } {
  const sent: { task: PollTask; delay: number }[] = [];
  return {
    sent,
    async enqueue(task, options) {
      if (task.tenantId === failFor) throw new Error('queue unavailable (test)');
      sent.push({ task, delay: options?.visibilityDelayInMs ?? 0 });
    },
  };
}

describe('scheduleDiscovery (the fan-out)', () => {
  it('enqueues one task per stream, all visible at once for polls', async () => {
    const tasks = recordingQueue();
    const result = await scheduleDiscovery('poll', streams, { tasks, clock: new ManualClock(0), logger: new RecordingLogger(), metrics: new RecordingMetrics() });
    expect(result).toEqual({ enqueued: 8, failed: 0 });
    expect(tasks.sent.map((s) => `${s.task.kind}|${s.task.tenantId}|${s.task.contentType}`).sort()).toEqual(streams.map((s) => `poll|${s.tenantId}|${s.contentType}`).sort());
    expect(tasks.sent.every((s) => s.delay === 0)).toBe(true);
  });

  it('spreads sweep tasks evenly over the spread with visibility delays', async () => {
    const tasks = recordingQueue();
    await scheduleDiscovery('sweep', streams, { tasks, clock: new ManualClock(0), logger: new RecordingLogger(), metrics: new RecordingMetrics() }, { spreadInMs: 8 * 60_000 });
    expect(tasks.sent.map((s) => s.delay).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => i * 60_000));
  });

  it('a task that cannot be enqueued is logged and counted; the others still go', async () => {
    const tasks = recordingQueue(tenants[1]);
    const logger = new RecordingLogger();
    const metrics = new RecordingMetrics();
    const result = await scheduleDiscovery('poll', streams, { tasks, clock: new ManualClock(0), logger, metrics });
    expect(result).toEqual({ enqueued: 6, failed: 2 });
    expect(logger.lines.filter((l) => l.level === 'error')).toHaveLength(2);
    expect(metrics.total('discovery.tasks.failed')).toBe(2);
  });
});
