import { app, type InvocationContext, type Timer } from '@azure/functions';
import { MINUTE_MS } from '../shared/core/windows.js';
import { healGaps } from '../shared/usecases/healGaps.js';
import { getWiring, observability, type Wiring } from '../shared/wiring.js';

/** Stop waiting for queries and paging this long after the run began: inside host.json's 10-minute functionTimeout. */
const RUN_BUDGET_MS = 8 * MINUTE_MS;

/**
 * Timer: advances the healing of every recorded gap from Purview audit search (plans, submits, polls,
 * pages and concludes audit log queries; docs/architecture.md, "Healing gaps"). With HEAL_GAPS=false it
 * only marks new gaps as not healed.
 */
export async function handleHealGapsTimer(_timer: Timer, context: InvocationContext, wiring: Wiring = getWiring()): Promise<void> {
  const observed = observability(context);
  const { logger } = observed;
  const { deps, options } = wiring.healing(observed, wiring.clock.now() + RUN_BUDGET_MS);
  const gaps = await healGaps(deps, options);
  for (const gap of gaps.filter((g) => g.heal)) {
    logger.info('gap heal', { tenantId: gap.tenantId, contentType: gap.contentType, gapStart: gap.start, gapEnd: gap.end, state: gap.heal!.state, queries: gap.heal!.queries.length, recordsDelivered: gap.heal!.recordsDelivered });
  }
}

app.timer('healGaps', {
  // Read from the HEAL_SCHEDULE app setting (default in local.settings.example.json and the Bicep).
  schedule: '%HEAL_SCHEDULE%',
  runOnStartup: false,
  handler: (timer, context) => handleHealGapsTimer(timer, context),
});
