import { parseContentMessage } from '../core/contentMessage.js';
import { nextRetry } from '../core/deliveryRetry.js';
import type { StreamKey } from '../core/model.js';
import { DEFAULT_RETRY_POLICY, endWith, ledgerEntryFor, quarantineMessage, type IngestContentDependencies, type IngestContentOptions, type IngestOutcome } from './common/delivery.js';

/**
 * A content message the queue host gave up on (maxDequeueCount attempts that crashed or threw before delivery
 * could record anything) lands on the poison queue. That is never the end of the blob: its row is recorded
 * `poisoned` with the last error and the time of the next attempt (the delivery backoff), the hub is told
 * in-band, and reconcile re-enqueues it when that time comes, until the content's expiry is near; only then
 * does it end `failed` ("expired during retries").
 */
export async function onPoison(input: unknown, deps: IngestContentDependencies, dequeueCount: number, options: Pick<IngestContentOptions, 'retry' | 'abortSignal'> = {}): Promise<IngestOutcome> {
  const parsed = parseContentMessage(input);
  if (!parsed.ok) return quarantineMessage(input, `poisoned message is unreadable: ${parsed.reason}`, deps);
  const message = parsed.message;
  if (!deps.tenants.has(message.tenantId)) return quarantineMessage(input, `poisoned message names tenant ${message.tenantId}, which is not configured`, deps);
  const stream: StreamKey = { tenantId: message.tenantId, contentType: message.contentType };
  let row = await deps.ledger.get(stream, message.contentId, options);
  if (row?.status === 'done') {
    // Delivered by an earlier attempt whose acknowledgement was lost: nothing is missing.
    deps.logger.info('poisoned message for content already delivered; nothing to do', { contentId: message.contentId });
    return { status: 'duplicate', contentId: message.contentId };
  }
  if (row && (row.status === 'expired' || row.status === 'missing' || row.status === 'failed')) {
    deps.logger.info('poisoned message for content already ended; nothing to do', { contentId: message.contentId, status: row.status });
    return { status: 'final', contentId: message.contentId, reason: row.lastError };
  }
  if (!row) {
    row = { ...ledgerEntryFor(message, 'listed'), foundBy: 'message' };
    await deps.ledger.insertIfAbsent([row], options);
  }
  const attempts = Math.max(row.attempts ?? 0, dequeueCount, 1);
  // A row poisoned before keeps the underlying error, not a chain of poison reports.
  const lastError = (row.lastError ?? 'unknown (the worker did not record one)').replace(POISON_PREFIX, '');
  const now = deps.clock.now();
  const decision = nextRetry(attempts, message.contentExpiration, now, options.retry ?? DEFAULT_RETRY_POLICY, deps.random?.() ?? 0);
  if (!decision.retry) return endWith('failed', `${decision.reason}; the queue gave up on its message; last error: ${lastError}`, message, row, deps, options, row.resumeOffset || undefined);
  const nextAttemptAt = new Date(decision.nextAttemptAt).toISOString();
  const reason = `the queue gave up on its message after ${dequeueCount} dequeues (${attempts} attempts); last error: ${lastError}; reconcile retries it after ${nextAttemptAt}`;
  return endWith('poisoned', reason, message, row, deps, options, row.resumeOffset || undefined, undefined, {
    attempts,
    nextAttemptAt,
    leaseOwner: undefined,
    leaseUntil: undefined,
    lastError: `the queue gave up on its message; last error: ${lastError}`,
  });
}

const POISON_PREFIX = /^(the queue gave up on its message; last error: )+/;
