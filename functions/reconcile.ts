import { app, type InvocationContext, type Timer } from '@azure/functions';
import { reconcile as reconcileStreams } from '../shared/usecases/reconcile.js';
import { getWiring, observability, retryPolicyOf, type Wiring } from '../shared/wiring.js';

/**
 * Timer (RECONCILE_SCHEDULE, every 15 minutes by default): re-enqueue stuck and poisoned blobs, check the completeness
 * invariant, summarize hours and apply the ledger retention, write each stream's health row (Defender XDR
 * streams included).
 */
export async function reconcile(_timer: Timer, context: InvocationContext, wiring: Wiring = getWiring()): Promise<void> {
  const { logger, metrics } = observability(context);
  const { ledger, cursors, queue, health: healthStore, listings, summaries, sweeps, gaps, clock } = wiring;
  const health = await reconcileStreams(
    [...wiring.streams, ...wiring.securityStreams],
    { ledger, cursors, queue, health: healthStore, listings, summaries, sweeps, gaps, clock, logger, metrics },
    {
      ledgerRetentionDays: wiring.config.reconcile.ledgerRetentionDays,
      retry: retryPolicyOf(wiring.config),
    },
  );
  for (const h of health) {
    const fields = { tenantId: h.tenantId, contentType: h.contentType, state: h.state, reasons: h.reasons.join('; '), invariant: h.invariant.holds ? 'holds' : 'violated', listingLagMinutes: h.listingLagMinutes, deliveryLagMinutes: h.deliveryLagMinutes };
    if (h.state === 'failing') logger.error('stream health', fields);
    else if (h.state === 'degraded') logger.warn('stream health', fields);
    else logger.info('stream health', fields);
  }
}

app.timer('reconcile', { schedule: '%RECONCILE_SCHEDULE%', runOnStartup: false, handler: (timer, context) => reconcile(timer, context) });
