import { createHash } from 'node:crypto';
import { parseContentMessage, type ContentMessage } from '../core/contentMessage.js';
import { exceedsBytes, shrinkToBudget } from '../core/eventBudget.js';
import { describeError, IngestError } from '../core/errors.js';
import { checkFeedUrl, contentUriFor } from '../core/feedUrls.js';
import { JsonStreamError, splitJsonArray } from '../core/jsonArrayStream.js';
import type { PartitionKeyMode, StreamKey } from '../core/model.js';
import type { EventProfile, NormalizeContext, NormalizedEvent } from '../core/normalize/event.js';
import { serializeElement } from '../core/normalize/serialize.js';
import { partitionKeyFor } from '../core/partitionKey.js';
import { pipelineErrorEvent, type PipelineErrorEvent } from '../core/pipelineEvent.js';
import type { BlobStore, Clock, ContentSource, EventSink, Ledger, LedgerEntry, LedgerStatus, Logger, Metrics, OutgoingEvent } from '../ports.js';

export interface IngestDependencies {
  /** The configured tenants: the management endpoint a tenant's content may be fetched from. */
  readonly tenants: ReadonlyMap<string, { readonly managementEndpoint: string }>;
  readonly ledger: Ledger;
  readonly source: ContentSource;
  readonly sink: EventSink;
  readonly blobs: BlobStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface IngestOptions {
  readonly maxEventBytes: number;
  readonly partitionKeyMode: PartitionKeyMode;
  readonly abortSignal?: AbortSignal;
  /** How often (at most) progress is written to the ledger while a blob streams. Default 2 s. */
  readonly checkpointIntervalInMs?: number;
  /** EVENT_PROFILE: `full` (default, the record in Raw) or `compact`. */
  readonly eventProfile?: EventProfile;
}

export type IngestStatus = 'done' | 'duplicate' | 'final' | 'expired' | 'missing' | 'failed' | 'quarantined';

export interface IngestOutcome {
  readonly status: IngestStatus;
  readonly contentId?: string;
  readonly records?: number;
  readonly reason?: string;
}

export const CONTAINER_QUARANTINE = 'quarantine';
export const CONTAINER_CLAIM_CHECK = 'claim-check';

/**
 * Delivery (docs/architecture.md, "Delivery") of one content blob named by a queue message: guard, idempotency check,
 * expiry check, streaming download and parse, normalize, size budget, publish in order, and the ledger
 * row's final status. Permanent problems end with a ledger status and a reason (and an in-band
 * pipeline event); transient ones are rethrown for the queue to redeliver, and the retry resumes after
 * the last batch the hub acknowledged.
 */
export async function ingestContent(input: unknown, deps: IngestDependencies, options: IngestOptions): Promise<IngestOutcome> {
  const parsed = parseContentMessage(input);
  if (!parsed.ok) return quarantineMessage(input, parsed.reason, deps);
  const message = parsed.message;
  const tenant = deps.tenants.get(message.tenantId);
  if (!tenant) return quarantineMessage(input, `tenant ${message.tenantId} is not configured`, deps);

  const stream: StreamKey = { tenantId: message.tenantId, contentType: message.contentType };
  const fields = { tenantId: message.tenantId, contentType: message.contentType, contentId: message.contentId };
  const contentUri = guardedContentUri(message, tenant.managementEndpoint, deps, fields);

  let row = await deps.ledger.get(stream, message.contentId, options);
  if (row?.status === 'done') {
    deps.logger.info('content already delivered; acknowledging the redelivered message', fields);
    return { status: 'duplicate', contentId: message.contentId };
  }
  if (row && row.status !== 'listed') {
    deps.logger.info('content already ended; acknowledging the message', { ...fields, status: row.status });
    return { status: 'final', contentId: message.contentId, reason: row.lastError };
  }
  if (!row) {
    // A message without a ledger row (a replay, or a row lost by hand): create it so the outcome is recorded.
    row = ledgerEntryFor(message, 'listed');
    await deps.ledger.insertIfAbsent([row], options);
    deps.logger.warn('content message had no ledger row; created one', fields);
  }

  const now = deps.clock.now();
  if (Date.parse(message.contentExpiration) <= now) {
    return endWith('expired', `contentExpiration ${message.contentExpiration} passed before the download`, message, row, deps, options);
  }
  const attempts = (row.attempts ?? 0) + 1;
  await deps.ledger.update(stream, message.contentId, { attempts }, options);
  return new BlobDelivery(message, contentUri, { ...row, attempts }, deps, options).run();
}

/** Streams one blob to the hub. */
class BlobDelivery {
  private readonly stream: StreamKey;
  private readonly resumeFrom: number;
  private readonly started: number;
  private index = 0;
  private bytes = 0;
  private lastCheckpoint: number;
  private checkpointed: number;
  /** Per blob, not per record: one ProcessedTime for the records processed together. */
  private readonly context: NormalizeContext;

  constructor(
    private readonly message: ContentMessage,
    private readonly contentUri: string,
    private readonly row: LedgerEntry,
    private readonly deps: IngestDependencies,
    private readonly options: IngestOptions,
  ) {
    this.stream = { tenantId: message.tenantId, contentType: message.contentType };
    this.resumeFrom = row.resumeOffset ?? 0;
    this.started = deps.clock.now();
    this.lastCheckpoint = this.started;
    this.checkpointed = this.resumeFrom;
    this.context = {
      source: 'O365ManagementActivity',
      tenantId: message.tenantId,
      contentType: message.contentType,
      contentId: message.contentId,
      contentCreated: message.contentCreated,
      processedTime: new Date(this.started).toISOString(),
    };
  }

  async run(): Promise<IngestOutcome> {
    const { deps, message } = this;
    const publication = deps.sink.open({
      partitionKey: partitionKeyFor(this.options.partitionKeyMode, message.tenantId, message.contentId),
      abortSignal: this.options.abortSignal,
    });
    try {
      const download = await deps.source.download(message.tenantId, this.contentUri, this.options);
      for await (const text of splitJsonArray(this.countBytes(download.body))) {
        if (this.index < this.resumeFrom) {
          this.index++;
          continue;
        }
        await publication.add(await this.toOutgoing(text));
        this.index++;
        await this.checkpoint(publication.acknowledged);
      }
      await publication.flush();
    } catch (err) {
      return this.failed(err, publication.acknowledged);
    }
    const completedAt = deps.clock.now();
    await deps.ledger.update(this.stream, message.contentId, {
      status: 'done',
      records: this.index,
      events: this.index,
      bytes: this.bytes,
      resumeOffset: this.index,
      completedAt: new Date(completedAt).toISOString(),
      durationMs: completedAt - this.started,
    }, this.options);
    const dims = { tenantId: message.tenantId, contentType: message.contentType };
    deps.metrics.count('records.published', this.index - this.resumeFrom, dims);
    deps.metrics.count('blobs.done', 1, dims);
    deps.logger.info('content delivered', {
      tenantId: message.tenantId,
      contentType: message.contentType,
      contentId: message.contentId,
      records: this.index,
      resumedAt: this.resumeFrom || undefined,
      bytes: this.bytes,
      durationMs: completedAt - this.started,
      attempts: this.row.attempts,
    });
    return { status: 'done', contentId: message.contentId, records: this.index };
  }

  private async toOutgoing(text: string): Promise<OutgoingEvent> {
    const { message, deps } = this;
    // Parse, normalize and serialize (an element that is not JSON is kept, its text as Raw).
    const { event, body: serialized } = serializeElement(text, this.context, { profile: this.options.eventProfile, index: this.index });
    let body = serialized;
    if (exceedsBytes(body, this.options.maxEventBytes)) {
      const ref = await deps.blobs.put(CONTAINER_CLAIM_CHECK, `${message.tenantId}/${safeName(message.contentId)}/${event.EventId}.json`, text, {
        contentType: 'application/json',
        abortSignal: this.options.abortSignal,
      });
      body = shrinkToBudget(event, ref, this.options.maxEventBytes);
      deps.metrics.count('events.claimCheck', 1, { tenantId: message.tenantId, contentType: message.contentType });
    }
    return { body, messageId: event.EventId, correlationId: message.contentId, properties: propertiesOf(event) };
  }

  /** Records progress now and then, so a retry after a failure resumes after what the hub acknowledged. */
  private async checkpoint(acknowledged: number): Promise<void> {
    const offset = this.resumeFrom + acknowledged;
    const now = this.deps.clock.now();
    if (offset === this.checkpointed || now - this.lastCheckpoint < (this.options.checkpointIntervalInMs ?? 2000)) return;
    await this.deps.ledger.update(this.stream, this.message.contentId, { resumeOffset: offset }, this.options);
    this.checkpointed = offset;
    this.lastCheckpoint = now;
  }

  private async *countBytes(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of body) {
      this.bytes += chunk.byteLength;
      yield chunk;
    }
  }

  private async failed(err: unknown, acknowledged: number): Promise<IngestOutcome> {
    const { deps, message } = this;
    const resumeOffset = this.resumeFrom + acknowledged;
    const published = resumeOffset > 0 ? resumeOffset : undefined;
    if (err instanceof JsonStreamError) {
      const reason = `content is not a JSON array (${err.message} at byte ${err.offset}); ${resumeOffset} records were published before it`;
      await this.quarantineContent(reason);
      return endWith('failed', reason, message, { ...this.row, resumeOffset }, deps, this.options, published);
    }
    if (err instanceof IngestError && !err.retryable) {
      const status: Exclude<LedgerStatus, 'listed' | 'delivering' | 'done'> = err.code === 'ContentExpired' ? 'expired' : err.code === 'ContentMissing' ? 'missing' : 'failed';
      return endWith(status, err.reason, message, { ...this.row, resumeOffset }, deps, this.options, published);
    }
    // Transient: remember how far the hub got, then let the queue redeliver with backoff.
    await deps.ledger
      .update(this.stream, message.contentId, { lastError: describeError(err), resumeOffset }, this.options)
      .catch((updateErr: unknown) => deps.logger.warn('could not record the failed attempt on the ledger row', { contentId: message.contentId, error: describeError(updateErr) }));
    deps.logger.warn('content delivery failed; the queue will retry', {
      tenantId: message.tenantId,
      contentType: message.contentType,
      contentId: message.contentId,
      attempt: this.row.attempts,
      resumeOffset,
      error: describeError(err),
    });
    deps.metrics.count('blobs.retry', 1, { tenantId: message.tenantId, contentType: message.contentType, code: err instanceof IngestError ? err.code : 'Unexpected' });
    throw err;
  }

  /** Keeps the malformed blob for inspection: downloaded again, straight into the quarantine container. */
  private async quarantineContent(reason: string): Promise<void> {
    const { deps, message } = this;
    const name = `content/${message.tenantId}/${safeName(message.contentId)}`;
    try {
      const again = await deps.source.download(message.tenantId, this.contentUri, this.options);
      await deps.blobs.put(CONTAINER_QUARANTINE, name, again.body, { contentType: 'application/octet-stream', abortSignal: this.options.abortSignal });
    } catch (err) {
      deps.logger.warn('could not copy the malformed content to quarantine; the ledger keeps the reason', { contentId: message.contentId, error: describeError(err) });
      await deps.blobs.put(CONTAINER_QUARANTINE, `${name}.reason.json`, JSON.stringify({ reason, message }), { contentType: 'application/json' }).catch(() => undefined);
    }
  }
}

/** Ends a blob without (full) delivery: ledger status and reason, error log, metric, in-band pipeline event. */
export async function endWith(
  status: Exclude<LedgerStatus, 'listed' | 'delivering' | 'done'>,
  reason: string,
  message: ContentMessage,
  row: LedgerEntry,
  deps: Pick<IngestDependencies, 'ledger' | 'sink' | 'clock' | 'logger' | 'metrics'>,
  options: { abortSignal?: AbortSignal },
  recordsPublished?: number,
): Promise<IngestOutcome> {
  const stream: StreamKey = { tenantId: message.tenantId, contentType: message.contentType };
  const now = deps.clock.now();
  await deps.ledger.update(stream, message.contentId, { status, lastError: reason, completedAt: new Date(now).toISOString(), resumeOffset: row.resumeOffset }, options);
  deps.logger.error(`content ${status}`, { tenantId: message.tenantId, contentType: message.contentType, contentId: message.contentId, reason });
  deps.metrics.count(`blobs.${status}`, 1, { tenantId: message.tenantId, contentType: message.contentType });
  await publishPipelineEvent(
    pipelineErrorEvent({ ...message, status, reason, attempts: row.attempts, recordsPublished, now }),
    deps,
  );
  return { status: status === 'poisoned' ? 'failed' : status, contentId: message.contentId, reason };
}

/** Sends the in-band pipeline event; its failure is logged, never allowed to undo the ledger outcome. */
export async function publishPipelineEvent(event: PipelineErrorEvent, deps: Pick<IngestDependencies, 'sink' | 'logger'>): Promise<void> {
  try {
    const publication = deps.sink.open({ partitionKey: event.SourceContentId.length <= 128 ? event.SourceContentId : undefined });
    await publication.add({
      body: JSON.stringify(event),
      messageId: event.EventId,
      correlationId: event.SourceContentId,
      properties: { EnvelopeVersion: event.EnvelopeVersion, EventSchema: event.EventSchema, Source: event.Source, OrganizationId: event.OrganizationId, AMQPheaders: '1' },
    });
    await publication.flush();
  } catch (err) {
    deps.logger.warn('could not publish the pipeline event; the ledger row still records the outcome', { contentId: event.SourceContentId, error: describeError(err) });
  }
}

/**
 * A contentUri from a message is used only if it names this blob on the tenant's management host
 * under its feed path; otherwise it is rebuilt from the content id (the API has served wrong-host URIs).
 */
function guardedContentUri(message: ContentMessage, managementEndpoint: string, deps: IngestDependencies, fields: Record<string, string>): string {
  const canonical = contentUriFor(managementEndpoint, message.tenantId, message.contentId);
  const verdict = checkFeedUrl(message.contentUri, managementEndpoint, message.tenantId);
  const namesThisBlob = verdict.ok && verdict.url.pathname.endsWith(`/activity/feed/audit/${message.contentId}`);
  if (namesThisBlob) return message.contentUri;
  deps.logger.warn('contentUri anomaly: rebuilt from the management host, tenant and contentId', { ...fields, problem: verdict.ok ? 'not this blob' : verdict.problem, host: hostOf(message.contentUri) });
  deps.metrics.count('contentUri.rebuilt', 1, { tenantId: message.tenantId });
  return canonical;
}

export async function quarantineMessage(input: unknown, reason: string, deps: IngestDependencies): Promise<IngestOutcome> {
  const text = typeof input === 'string' ? input : input instanceof Uint8Array ? Buffer.from(input).toString('utf8') : (JSON.stringify(input) ?? String(input));
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const at = new Date(deps.clock.now()).toISOString();
  const name = `messages/${at.slice(0, 10)}/${at.replace(/[:.]/g, '')}-${digest}.json`;
  await deps.blobs.put(CONTAINER_QUARANTINE, name, JSON.stringify({ reason, quarantinedAt: at, message: text.slice(0, 65_536) }), { contentType: 'application/json' });
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

function propertiesOf(event: NormalizedEvent): Record<string, string> {
  return {
    EnvelopeVersion: event.EnvelopeVersion,
    EventSchema: event.EventSchema,
    Source: event.Source,
    Workload: event.Workload ?? '',
    RecordTypeName: event.RecordTypeName,
    OrganizationId: event.OrganizationId,
    // Marks AMQP-encoded headers for Kafka readers (docs/architecture.md, "The normalized event").
    AMQPheaders: '1',
  };
}

/** Content ids may contain `$`, which blob names allow; anything else odd is replaced. */
function safeName(contentId: string): string {
  return contentId.replace(/[^A-Za-z0-9$_.\-]/g, '_');
}

function hostOf(uri: string): string {
  try {
    return new URL(uri).host;
  } catch {
    return '(unparseable)';
  }
}

