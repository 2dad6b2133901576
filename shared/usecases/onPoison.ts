import { parseContentMessage } from '../core/contentMessage.js';
import type { StreamKey } from '../core/model.js';
import { endWith, ledgerEntryFor, quarantineMessage, type IngestDependencies, type IngestOutcome } from './ingestContent.js';

/**
 * A content message that exhausted its retries (maxDequeueCount) lands on the poison queue: record
 * the blob as `poisoned` with its last error, and tell the hub in-band. The blob can be replayed
 * (operator CLI) while its content has not expired.
 */
export async function onPoison(input: unknown, deps: IngestDependencies, dequeueCount: number): Promise<IngestOutcome> {
  const parsed = parseContentMessage(input);
  if (!parsed.ok) return quarantineMessage(input, `poisoned message is unreadable: ${parsed.reason}`, deps);
  const message = parsed.message;
  const stream: StreamKey = { tenantId: message.tenantId, contentType: message.contentType };
  let row = await deps.ledger.get(stream, message.contentId);
  if (row?.status === 'done') {
    // Delivered by an earlier attempt whose acknowledgement was lost: nothing is missing.
    deps.logger.info('poisoned message for content already delivered; nothing to do', { contentId: message.contentId });
    return { status: 'duplicate', contentId: message.contentId };
  }
  if (!row) {
    row = ledgerEntryFor(message, 'listed');
    await deps.ledger.insertIfAbsent([row]);
  }
  const reason = `retries exhausted after ${row.attempts ?? dequeueCount} attempts; last error: ${row.lastError ?? 'unknown (the worker did not record one)'}`;
  return endWith('poisoned', reason, message, row, deps, {}, row.resumeOffset || undefined);
}
