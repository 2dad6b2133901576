import { app, type InvocationContext, type Timer } from '@azure/functions';
import { scheduleDiscovery } from '../shared/usecases/scheduleDiscovery.js';
import { getWiring, observability, type Wiring } from '../shared/wiring.js';

/**
 * Timer (POLL_SCHEDULE): enqueues one scan task per Defender XDR stream (incidents, alerts of every tenant
 * with `defenderXdr`) on the poll-task queue; `pollStream` runs each scan with its own time budget, so a
 * thousand tenants' scans do not have to fit one timer run (docs/architecture.md, "Defender XDR").
 */
export async function handlePollSecurityTimer(_timer: Timer, context: InvocationContext, wiring: Wiring = getWiring()): Promise<void> {
  const observed = observability(context);
  if (wiring.securityStreams.length === 0) {
    observed.logger.debug('no tenant enables defenderXdr; nothing to poll');
    return;
  }
  const { enqueued, failed } = await scheduleDiscovery('security', wiring.securityStreams, wiring.scheduling(observed));
  observed.logger.info('security scan tasks enqueued', { enqueued, failed, queue: wiring.config.pollQueueName });
}

app.timer('pollSecurity', {
  // The same POLL_SCHEDULE app setting as pollContent.
  schedule: '%POLL_SCHEDULE%',
  runOnStartup: false,
  handler: (timer, context) => handlePollSecurityTimer(timer, context),
});
