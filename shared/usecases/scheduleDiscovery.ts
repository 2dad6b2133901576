import { mapLimit } from '../core/concurrency.js';
import { describeError } from '../core/errors.js';
import { streamId, type AnyStreamKey } from '../core/model.js';
import { toPollTask, type PollTaskKind } from '../core/pollTask.js';
import type { Clock, Logger, Metrics, PollTaskQueue } from '../ports.js';

export interface ScheduleDiscoveryDependencies {
  readonly tasks: PollTaskQueue;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface ScheduleDiscoveryOptions {
  /**
   * Spread the tasks evenly over this long (visibility delays from 0 to just under it), so a schedule's
   * streams do not all start at once. 0 (polls) makes every task visible at once.
   */
  readonly spreadInMs?: number;
  /** Tasks sent at once. */
  readonly concurrency?: number;
}

/**
 * The fan-out of discovery: one task per stream on the poll-task queue, run by the queue-triggered
 * poller, each with its own time budget, so one slow tenant never delays another and a thousand tenants
 * fit the schedule. A task that cannot be enqueued is logged and counted; the others still go.
 */
export async function scheduleDiscovery(kind: PollTaskKind, streams: readonly AnyStreamKey[], deps: ScheduleDiscoveryDependencies, options: ScheduleDiscoveryOptions = {}): Promise<{ enqueued: number; failed: number }> {
  const now = deps.clock.now();
  const spread = Math.max(0, options.spreadInMs ?? 0);
  let failed = 0;
  await mapLimit(streams, options.concurrency ?? 32, async (stream, index) => {
    const visibilityDelayInMs = spread > 0 ? Math.floor((index * spread) / streams.length) : 0;
    try {
      await deps.tasks.enqueue(toPollTask(kind, stream, now), { visibilityDelayInMs });
    } catch (err) {
      failed++;
      deps.logger.error('could not enqueue a discovery task; the stream waits for the next schedule', { kind, stream: streamId(stream), error: describeError(err) });
    }
  });
  deps.metrics.count('discovery.tasks.enqueued', streams.length - failed, { kind });
  if (failed > 0) deps.metrics.count('discovery.tasks.failed', failed, { kind });
  return { enqueued: streams.length - failed, failed };
}
