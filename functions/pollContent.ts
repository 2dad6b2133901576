import { app, type InvocationContext, type Timer } from '@azure/functions';
import { scheduleDiscovery } from '../shared/usecases/scheduleDiscovery.js';
import { getWiring, observability, type Wiring } from '../shared/wiring.js';

/**
 * Timer (POLL_SCHEDULE): enqueues one poll task per audit stream on the poll-task queue; `pollStream`
 * runs each with its own time budget, so discovery fans out over the function's instances.
 */
export async function handlePollContentTimer(_timer: Timer, context: InvocationContext, wiring: Wiring = getWiring()): Promise<void> {
  const observed = observability(context);
  const { enqueued, failed } = await scheduleDiscovery('poll', wiring.streams, wiring.scheduling(observed));
  observed.logger.info('poll tasks enqueued', { enqueued, failed, queue: wiring.config.pollQueueName });
}

app.timer('pollContent', {
  // Read from the POLL_SCHEDULE app setting (default in local.settings.example.json and the Bicep).
  schedule: '%POLL_SCHEDULE%',
  runOnStartup: false,
  handler: (timer, context) => handlePollContentTimer(timer, context),
});
