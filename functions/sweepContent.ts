import { app, type InvocationContext, type Timer } from '@azure/functions';
import { scheduleDiscovery } from '../shared/usecases/scheduleDiscovery.js';
import { getWiring, observability, type Wiring } from '../shared/wiring.js';

/** Sweep tasks are spread over this share of the time to the next firing (at most 50 minutes). */
const SPREAD_SHARE = 0.8;
const MAX_SPREAD_MS = 50 * 60_000;
/** When the host does not say when the timer fires next: an hourly schedule. */
const DEFAULT_INTERVAL_MS = 60 * 60_000;

/**
 * Timer (SWEEP_SCHEDULE, hourly by default): enqueues one retention-sweep task per audit stream on the
 * poll-task queue, spread over the interval with visibility delays so the tenants' sweeps do not all
 * list at once; `pollStream` runs each.
 */
export async function handleSweepContentTimer(timer: Timer, context: InvocationContext, wiring: Wiring = getWiring()): Promise<void> {
  const observed = observability(context);
  const now = wiring.clock.now();
  const next = Date.parse(timer.scheduleStatus?.next ?? '');
  const interval = Number.isFinite(next) && next > now ? next - now : DEFAULT_INTERVAL_MS;
  const spreadInMs = Math.min(MAX_SPREAD_MS, Math.floor(interval * SPREAD_SHARE));
  const { enqueued, failed } = await scheduleDiscovery('sweep', wiring.streams, wiring.scheduling(observed), { spreadInMs });
  observed.logger.info('sweep tasks enqueued', { enqueued, failed, spreadMinutes: Math.round(spreadInMs / 60_000), queue: wiring.config.pollQueueName });
}

app.timer('sweepContent', {
  schedule: '%SWEEP_SCHEDULE%',
  runOnStartup: false,
  handler: (timer, context) => handleSweepContentTimer(timer, context),
});
