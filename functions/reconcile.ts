import { app, type InvocationContext, type Timer } from '@azure/functions';
import { reconcile } from '../shared/usecases/reconcile.js';
import { getWiring, observability, type Wiring } from '../shared/wiring.js';

/**
 * Timer (RECONCILE_SCHEDULE, every 15 minutes by default): re-enqueue stuck and poisoned blobs, check the completeness
 * invariant, summarize hours and apply the ledger retention, write each stream's health row (Defender XDR
 * streams included).
 */
export async function handleReconcileTimer(_timer: Timer, context: InvocationContext, wiring: Wiring = getWiring()): Promise<void> {
  const observed = observability(context);
  const { logger } = observed;
  const { deps, options } = wiring.reconciling(observed);
  const health = await reconcile([...wiring.streams, ...wiring.securityStreams], deps, options);
  for (const h of health) {
    const fields = { tenantId: h.tenantId, contentType: h.contentType, state: h.state, reasons: h.reasons.join('; '), invariant: h.invariant.holds ? 'holds' : 'violated', listingLagMinutes: h.listingLagMinutes, deliveryLagMinutes: h.deliveryLagMinutes };
    if (h.state === 'failing') logger.error('stream health', fields);
    else if (h.state === 'degraded') logger.warn('stream health', fields);
    else logger.info('stream health', fields);
  }
}

app.timer('reconcile', { schedule: '%RECONCILE_SCHEDULE%', runOnStartup: false, handler: (timer, context) => handleReconcileTimer(timer, context) });
