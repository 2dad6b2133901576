import { app, type InvocationContext, type Timer } from '@azure/functions';
import { HOUR_MS, MINUTE_MS } from '../shared/core/windows.js';
import { DEFAULT_SECURITY_OVERLAP_MS, pollSecurity as pollSecurityStreams } from '../shared/usecases/pollSecurity.js';
import { getWiring, observability, type Wiring } from '../shared/wiring.js';

/** Stop starting new pages this long after the run began: well inside host.json's 10-minute functionTimeout. */
const RUN_BUDGET_MS = 8 * MINUTE_MS;
/** Both streams of a tenant share its Graph rate limit, so a few streams at a time is plenty. */
const STREAM_CONCURRENCY = 4;

/**
 * Timer: polls Defender XDR incidents and alerts from Microsoft Graph security for every tenant with
 * `defenderXdr` and publishes every revision to Event Hubs (docs/architecture.md, "Defender XDR").
 */
export async function pollSecurity(_timer: Timer, context: InvocationContext, wiring: Wiring = getWiring()): Promise<void> {
  const { logger, metrics } = observability(context);
  const { config, clock } = wiring;
  if (wiring.securityStreams.length === 0) {
    logger.debug('no tenant enables defenderXdr; nothing to poll');
    return;
  }
  const results = await pollSecurityStreams(
    wiring.securityStreams,
    { feed: wiring.securityFeed, cursors: wiring.cursors, ledger: wiring.ledger, sink: wiring.sink, blobs: wiring.blobs, clock, logger, metrics },
    {
      overlapMs: DEFAULT_SECURITY_OVERLAP_MS,
      initialLookbackMs: config.poll.initialLookbackHours * HOUR_MS,
      maxEventBytes: config.ingest.maxEventBytes,
      partitionKeyMode: config.ingest.partitionKeyMode,
      concurrency: STREAM_CONCURRENCY,
      deadline: clock.now() + RUN_BUDGET_MS,
    },
  );
  for (const r of results) {
    logger.info('security stream polled', {
      tenantId: r.stream.tenantId,
      stream: r.stream.contentType,
      outcome: r.outcome,
      since: r.since,
      pages: r.pages,
      events: r.events,
      cursor: r.cursor,
      reason: r.reason,
    });
  }
}

app.timer('pollSecurity', {
  // The same POLL_SCHEDULE app setting as pollContent.
  schedule: '%POLL_SCHEDULE%',
  runOnStartup: false,
  handler: (timer, context) => pollSecurity(timer, context),
});
