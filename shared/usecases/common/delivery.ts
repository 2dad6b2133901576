import { createHash } from 'node:crypto';
import { describeMessageForQuarantine, type ContentMessage } from '../../core/contentMessage.js';
import { CONTAINER_QUARANTINE } from '../../core/containers.js';
import type { RetryPolicy } from '../../core/deliveryRetry.js';
import type { PartitionKeyMode, StreamKey } from '../../core/model.js';
import type { EventProfile } from '../../core/normalize/event.js';
import { pipelineErrorEvent } from '../../core/pipelineEvent.js';
import type { BlobStore, Clock, ContentQueue, ContentSource, EventSink, Ledger, Logger, Metrics } from '../../ports.js';
import type { LedgerEntry, LedgerPatch, LedgerStatus } from '../../core/ledger.js';
import { publishPipelineEvent } from './hubEvents.js';

/**
 * What delivery of a content blob (ingestContent) and the end of a poisoned message (onPoison) share: the
 * dependencies, options and outcome, the default backoff, and how a blob or a message ends without delivery.
 */

export interface IngestContentDependencies {
  /** The configured tenants: the management endpoint a tenant's content may be fetched from. */
  readonly tenants: ReadonlyMap<string, { readonly managementEndpoint: string }>;
  readonly ledger: Ledger;
  readonly source: ContentSource;
  readonly sink: EventSink;
  readonly blobs: BlobStore;
  /** Where a blob goes back, with a visibility delay, after a transient failure (and a copy during another's lease). */
  readonly queue: ContentQueue;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Names this worker on the lease it takes (host and process, say). */
  readonly workerId?: string;
  /** Uniform in [0, 1): the backoff's jitter. Without it there is none (tests). */
  readonly random?: () => number;
}

export interface IngestContentOptions {
  readonly maxEventBytes: number;
  readonly partitionKeyMode: PartitionKeyMode;
  readonly abortSignal?: AbortSignal;
  /** EVENT_PROFILE: `full` (default, the record in Raw) or `compact`. */
  readonly eventProfile?: EventProfile;
  /** RETRY_INITIAL_SECONDS / RETRY_MAX_SECONDS; default 30 s and 1 h. */
  readonly retry?: RetryPolicy;
  /** How long a claim on a blob holds without being renewed. Default 1 minute; renewed at every checkpoint. */
  readonly leaseInMs?: number;
}

export type IngestStatus = 'done' | 'duplicate' | 'final' | 'expired' | 'missing' | 'failed' | 'quarantined' | 'retrying' | 'leased' | 'leaseLost';

export interface IngestOutcome {
  readonly status: IngestStatus;
  readonly contentId?: string;
  readonly records?: number;
  readonly reason?: string;
  /** `retrying`, `leased`: how long the blob's next message stays invisible. */
  readonly delayInMs?: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { initialInMs: 30_000, maxInMs: 3_600_000 };

export type FinalStatus = Exclude<LedgerStatus, 'listed' | 'delivering' | 'done'>;

/**
 * Ends a blob without (full) delivery: ledger status and reason, error log, metric, in-band pipeline event.
 * `write` records the outcome on the row (by default a merge; delivery passes its leased replace).
 */
export async function endWith(
  status: FinalStatus,
  reason: string,
  message: ContentMessage,
  row: LedgerEntry,
  deps: Pick<IngestContentDependencies, 'ledger' | 'sink' | 'clock' | 'logger' | 'metrics'>,
  options: { abortSignal?: AbortSignal },
  recordsPublished?: number,
  write?: (patch: LedgerPatch) => Promise<void>,
  extra: LedgerPatch = {},
): Promise<IngestOutcome> {
  const stream: StreamKey = { tenantId: message.tenantId, contentType: message.contentType };
  const now = deps.clock.now();
  const patch: LedgerPatch = { status, lastError: reason, completedAt: new Date(now).toISOString(), resumeOffset: row.resumeOffset, ...extra };
  await (write ? write(patch) : deps.ledger.update(stream, message.contentId, patch, options));
  deps.logger.error(`content ${status}`, { tenantId: message.tenantId, contentType: message.contentType, contentId: message.contentId, reason });
  deps.metrics.count(`blobs.${status}`, 1, { tenantId: message.tenantId, contentType: message.contentType });
  await publishPipelineEvent(
    pipelineErrorEvent({ ...message, status, reason, attempts: row.attempts, recordsPublished, now }),
    deps,
  );
  return { status: status === 'poisoned' ? 'failed' : status, contentId: message.contentId, reason };
}

/**
 * Keeps an unusable queue message for inspection, with the reason. Never throws on the message itself (a
 * message nested too deep to serialize is described instead), so bad input always ends here.
 */
export async function quarantineMessage(input: unknown, reason: string, deps: Pick<IngestContentDependencies, 'blobs' | 'clock' | 'logger' | 'metrics'>): Promise<IngestOutcome> {
  const text = describeMessageForQuarantine(input);
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const at = new Date(deps.clock.now()).toISOString();
  const name = `messages/${at.slice(0, 10)}/${at.replace(/[:.]/g, '')}-${digest}.json`;
  await deps.blobs.put(CONTAINER_QUARANTINE, name, JSON.stringify({ reason, quarantinedAt: at, message: text }), { contentType: 'application/json' });
  deps.logger.error('queue message quarantined', { reason, blob: `${CONTAINER_QUARANTINE}/${name}` });
  deps.metrics.count('messages.quarantined', 1);
  return { status: 'quarantined', reason };
}

export function ledgerEntryFor(message: ContentMessage, status: LedgerStatus): LedgerEntry {
  return {
    tenantId: message.tenantId,
    contentType: message.contentType,
    contentId: message.contentId,
    contentUri: message.contentUri,
    contentCreated: message.contentCreated,
    contentExpiration: message.contentExpiration,
    listedAt: message.listedAt,
    status,
    attempts: 0,
  };
}
