import { app, type InvocationContext } from '@azure/functions';
import { MINUTE_MS } from '../shared/core/windows.js';
import { parsePollTask } from '../shared/core/pollTask.js';
import { isSecurityStream, type SecurityStreamKey, type StreamKey } from '../shared/core/model.js';
import { pollSecurity } from '../shared/usecases/pollSecurity.js';
import { pollStreams } from '../shared/usecases/pollStreams.js';
import { sweepStreams } from '../shared/usecases/sweepStreams.js';
import { getWiring, observability, type Wiring } from '../shared/wiring.js';

/** Each task stops starting new work this long after it began: well inside host.json's 10-minute functionTimeout. */
const RUN_BUDGET_MS = 8 * MINUTE_MS;

/**
 * Queue trigger (POLL_QUEUE_NAME): runs one discovery task — a poll or a retention sweep of one audit
 * stream, or a scan of one Defender XDR stream — with its own time budget. The use cases record every
 * failure on the stream's rows and never throw, so a task is never retried by the queue: the next
 * schedule enqueues a fresh one. A task that does not parse, or names a stream not configured, is
 * logged and dropped.
 */
export async function handlePollStreamMessage(message: unknown, context: InvocationContext, wiring: Wiring = getWiring()): Promise<void> {
  const observed = observability(context);
  const { logger } = observed;
  const { clock } = wiring;
  const parsed = parsePollTask(message);
  if (!parsed.ok) {
    logger.error('discovery task dropped: it is not a valid task', { reason: parsed.reason });
    return;
  }
  const task = parsed.task;
  const known = [...wiring.streams, ...wiring.securityStreams].find((s) => s.tenantId === task.tenantId && s.contentType === task.contentType);
  if (!known) {
    logger.warn('discovery task dropped: the stream is not configured', { kind: task.kind, tenantId: task.tenantId, contentType: task.contentType });
    return;
  }
  const deadlineAtMs = clock.now() + RUN_BUDGET_MS;
  const fields = { kind: task.kind, tenantId: task.tenantId, contentType: task.contentType, waitedSeconds: Math.round((clock.now() - Date.parse(task.scheduledAt)) / 1000) };
  if (task.kind === 'security' && isSecurityStream(known)) {
    const { deps, options } = wiring.securityPolling(observed, deadlineAtMs);
    const [r] = await pollSecurity([known as SecurityStreamKey], deps, options);
    logger.info('security stream polled', { ...fields, outcome: r?.outcome, since: r?.since, pages: r?.pages, events: r?.events, cursor: r?.cursor, reason: r?.reason });
    return;
  }
  if (isSecurityStream(known)) return;
  const stream = known as StreamKey;
  if (task.kind === 'sweep') {
    const { deps, options } = wiring.sweeping(observed, deadlineAtMs);
    const [r] = await sweepStreams([stream], deps, options);
    logger.info('stream swept', { ...fields, outcome: r?.outcome, windows: `${r?.windows}/${r?.windowsPlanned}`, listed: r?.blobsListed, found: r?.blobsFound, apiCalls: r?.apiCalls, tableOps: r?.tableOps, reason: r?.reason });
    return;
  }
  const { deps, options } = wiring.polling(observed, deadlineAtMs);
  const [r] = await pollStreams([stream], deps, options);
  logger.info('stream polled', {
    ...fields,
    outcome: r?.outcome,
    windows: `${r?.windowsListed}/${r?.windowsPlanned}`,
    pages: r?.pagesListed,
    listed: r?.blobsListed,
    enqueued: r?.blobsEnqueued,
    rejected: r?.entriesRejected,
    cursor: r?.cursor,
    reason: r?.reason,
  });
}

app.storageQueue('pollStream', {
  queueName: '%POLL_QUEUE_NAME%',
  connection: 'AzureWebJobsStorage',
  handler: (message, context) => handlePollStreamMessage(message, context),
});
