import { app, type InvocationContext, type Timer } from '@azure/functions';
import { MINUTE_MS, HOUR_MS } from '../shared/core/windows.js';
import { pollStreams } from '../shared/usecases/pollStreams.js';
import { getWiring, observability, type Wiring } from '../shared/wiring.js';

/** Stop starting new work this long after the run began: well inside host.json's 10-minute functionTimeout. */
const RUN_BUDGET_MS = 8 * MINUTE_MS;
const STREAM_CONCURRENCY = 4;

/** Timer: discovers new content blobs for every stream and enqueues them (DESIGN.md §2). */
export async function pollContent(_timer: Timer, context: InvocationContext, wiring: Wiring = getWiring()): Promise<void> {
  const { logger, metrics } = observability(context);
  const { config, clock } = wiring;
  const results = await pollStreams(
    wiring.streams,
    { feed: wiring.feed, ledger: wiring.ledger, queue: wiring.queue, cursors: wiring.cursors, clock, logger, metrics },
    {
      settleLagMs: config.poll.settleLagMinutes * MINUTE_MS,
      overlapMs: config.poll.overlapMinutes * MINUTE_MS,
      initialLookbackMs: config.poll.initialLookbackHours * HOUR_MS,
      concurrency: STREAM_CONCURRENCY,
      deadline: clock.now() + RUN_BUDGET_MS,
    },
  );
  for (const r of results) {
    logger.info('stream polled', {
      tenantId: r.stream.tenantId,
      contentType: r.stream.contentType,
      outcome: r.outcome,
      windows: `${r.windowsListed}/${r.windowsPlanned}`,
      pages: r.pagesListed,
      listed: r.blobsListed,
      enqueued: r.blobsEnqueued,
      cursor: r.cursor,
      reason: r.reason,
    });
  }
}

app.timer('pollContent', {
  // Read from the POLL_SCHEDULE app setting (default in local.settings.example.json and the Bicep).
  schedule: '%POLL_SCHEDULE%',
  runOnStartup: false,
  handler: (timer, context) => pollContent(timer, context),
});
