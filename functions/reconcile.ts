import { app, type InvocationContext, type Timer } from '@azure/functions';
import { reconcile as reconcileStreams } from '../shared/usecases/reconcile.js';
import { getWiring, observability, type Wiring } from '../shared/wiring.js';

/** Timer (every 15 minutes): re-enqueue stuck blobs, raise blobs near expiry, write each stream's health row (Defender XDR streams included). */
export async function reconcile(_timer: Timer, context: InvocationContext, wiring: Wiring = getWiring()): Promise<void> {
  const { logger, metrics } = observability(context);
  const health = await reconcileStreams([...wiring.streams, ...wiring.securityStreams], { ledger: wiring.ledger, cursors: wiring.cursors, queue: wiring.queue, health: wiring.health, clock: wiring.clock, logger, metrics });
  for (const h of health) {
    const fields = { tenantId: h.tenantId, contentType: h.contentType, state: h.state, reasons: h.reasons.join('; '), listingLagMinutes: h.listingLagMinutes, deliveryLagMinutes: h.deliveryLagMinutes };
    if (h.state === 'failing') logger.error('stream health', fields);
    else if (h.state === 'degraded') logger.warn('stream health', fields);
    else logger.info('stream health', fields);
  }
}

app.timer('reconcile', { schedule: '0 */15 * * * *', runOnStartup: false, handler: (timer, context) => reconcile(timer, context) });
