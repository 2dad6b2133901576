import { parseContentMessage, type ContentMessage } from '../core/contentMessage.js';
import { CONTAINER_QUARANTINE } from '../core/containers.js';
import { nextRetry } from '../core/deliveryRetry.js';
import { describeError, IngestError, PermanentError } from '../core/errors.js';
import { checkFeedUrl, contentUriFor } from '../core/feedUrls.js';
import { JsonStreamError, splitParsedJsonArray, type SplitElement } from '../core/jsonArrayStream.js';
import type { StreamKey } from '../core/model.js';
import type { NormalizeContext } from '../core/normalize/event.js';
import { buildElement, serializeElement } from '../core/normalize/serialize.js';
import { blobManifestEvent, EventIdDigest } from '../core/manifest.js';
import { partitionKeyFor } from '../core/partitionKey.js';
import type { EventPublication } from '../ports.js';
import type { OutgoingEvent } from '../core/io.js';
import type { LedgerEntry, LedgerPatch } from '../core/ledger.js';
import { DEFAULT_RETRY_POLICY, endWith, ledgerEntryFor, quarantineMessage, type FinalStatus, type IngestContentDependencies, type IngestContentOptions, type IngestOutcome } from './common/delivery.js';
import { bodyWithinBudget, eventProperties, pipelineOutgoing, safeName } from './common/hubEvents.js';

/** Short, so a crashed worker's blob is taken over within a minute; renewed at every checkpoint and every half lease. */
export const DEFAULT_LEASE_MS = 60_000;
/** A body that is not a JSON array is downloaded this many times before it counts as permanently malformed. */
export const MALFORMED_ATTEMPTS = 3;

/**
 * Delivery (docs/architecture.md, "Delivery") of one content blob named by a queue message: guard, claim of the
 * ledger row (an ETag lease), expiry check, streaming download and parse, normalize, size budget, publish in
 * order with a checkpoint after every acknowledged batch, the blob's manifest, and the row's final status.
 * Permanent problems end with a ledger status and a reason (and an in-band pipeline event). Transient ones
 * never reach the queue host: the blob is re-enqueued with an exponential visibility delay and the message
 * completes, until the content's expiry is near; a retry resumes after the last batch the hub acknowledged.
 * The handler throws only when it cannot even record that (ledger or queue unreachable).
 */
export async function ingestContent(input: unknown, deps: IngestContentDependencies, options: IngestContentOptions): Promise<IngestOutcome> {
  const parsed = parseContentMessage(input);
  if (!parsed.ok) return quarantineMessage(input, parsed.reason, deps);
  const message = parsed.message;
  const tenant = deps.tenants.get(message.tenantId);
  if (!tenant) return quarantineMessage(input, `tenant ${message.tenantId} is not configured`, deps);

  const fields = { tenantId: message.tenantId, contentType: message.contentType, contentId: message.contentId };
  const contentUri = guardedContentUri(message, tenant.managementEndpoint, deps, fields);
  const claim = await claimRow(message, fields, deps, options);
  if ('status' in claim) return claim;
  return new BlobDelivery(message, contentUri, claim.row, claim.etag, deps, options).run();
}

type Claim = { readonly row: LedgerEntry; readonly etag: string } | IngestOutcome;

/** Deliveries started by this process: with the worker's id, a lease owner no other delivery has. */
let claims = 0;

/**
 * Takes the row's lease (status `delivering`, this worker, until now + lease) with a conditional replace, so two
 * copies of a message never publish together. A copy that finds a live lease goes back on the queue until the
 * lease ends; an expired lease (a worker that crashed) is taken over, and delivery resumes at its checkpoint.
 */
async function claimRow(message: ContentMessage, fields: Readonly<Record<string, string>>, deps: IngestContentDependencies, options: IngestContentOptions): Promise<Claim> {
  const stream: StreamKey = { tenantId: message.tenantId, contentType: message.contentType };
  // One owner per delivery, not per process: the host runs several messages at once in one worker.
  const me = `${deps.workerId ?? 'worker'}#${++claims}`;
  const leaseInMs = options.leaseInMs ?? DEFAULT_LEASE_MS;
  for (let race = 0; race < 3; race++) {
    let current = await deps.ledger.read(stream, message.contentId, options);
    if (!current) {
      // A message without a ledger row (a replay, or a row lost by hand): create it so the outcome is recorded.
      await deps.ledger.insertIfAbsent([{ ...ledgerEntryFor(message, 'listed'), foundBy: 'message' }], options);
      deps.logger.warn('content message had no ledger row; created one', fields);
      current = await deps.ledger.read(stream, message.contentId, options);
      if (!current) continue;
    }
    const row = current.entry;
    if (row.status === 'done') {
      deps.logger.info('content already delivered; acknowledging the redelivered message', fields);
      return { status: 'duplicate', contentId: message.contentId };
    }
    if (row.status === 'expired' || row.status === 'missing' || row.status === 'failed') {
      deps.logger.info('content already ended; acknowledging the message', { ...fields, status: row.status });
      return { status: 'final', contentId: message.contentId, reason: row.lastError };
    }
    const now = deps.clock.now();
    const leaseEnds = row.status === 'delivering' && row.leaseUntil ? Date.parse(row.leaseUntil) : Number.NaN;
    if (leaseEnds > now) return backOffDuringLease(message, leaseEnds - now, deps, options);
    if (Date.parse(message.contentExpiration) <= now) {
      return endWith('expired', `contentExpiration ${message.contentExpiration} passed before the download`, message, row, deps, options);
    }
    if (row.status === 'delivering') deps.logger.warn('taking over an expired delivery lease; resuming at its checkpoint', { ...fields, previousOwner: row.leaseOwner, leaseUntil: row.leaseUntil, resumeOffset: row.resumeOffset ?? 0 });
    const claimed: LedgerEntry = { ...row, status: 'delivering', leaseOwner: me, leaseUntil: new Date(now + leaseInMs).toISOString(), attempts: (row.attempts ?? 0) + 1 };
    const etag = await deps.ledger.replaceIf(claimed, current.etag, options);
    if (etag) return { row: claimed, etag };
  }
  // Three lost races in a row: someone else is busy with this row; come back when a lease would have ended.
  return backOffDuringLease(message, leaseInMs, deps, options);
}

/** A copy of a message whose blob another worker holds: re-enqueued to arrive just after that lease, never published. */
async function backOffDuringLease(message: ContentMessage, remainingInMs: number, deps: IngestContentDependencies, options: IngestContentOptions): Promise<IngestOutcome> {
  const delayInMs = Math.ceil(remainingInMs) + 1000 + Math.round((deps.random?.() ?? 0) * 5000);
  await deps.queue.enqueue([message], { visibilityDelayInMs: delayInMs, abortSignal: options.abortSignal });
  deps.logger.info('content is being delivered by another worker; this copy comes back after the lease', { tenantId: message.tenantId, contentId: message.contentId, delayMs: delayInMs });
  deps.metrics.count('blobs.leased', 1, { tenantId: message.tenantId, contentType: message.contentType });
  return { status: 'leased', contentId: message.contentId, delayInMs };
}

/** The lease was taken over while this worker still ran (it stalled past its lease): it stops at once. */
class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
}

/** Marks errors thrown by the hub, so a failure there is not followed by another flush. */
class FromSink extends Error {
  override readonly name = 'FromSink';
  constructor(readonly inner: unknown) {
    super(describeError(inner));
  }
}

/** Adds an event to the publication; a failure there is marked as the hub's. */
async function addToHub(publication: EventPublication, event: OutgoingEvent): Promise<void> {
  try {
    await publication.add(event);
  } catch (err) {
    throw new FromSink(err);
  }
}

/** Streams one blob to the hub. */
class BlobDelivery {
  private readonly stream: StreamKey;
  private readonly resumeFrom: number;
  private readonly started: number;
  private readonly leaseInMs: number;
  private index = 0;
  private bytes = 0;
  private checkpointed: number;
  private leaseRenewedAt: number;
  private readonly digest = new EventIdDigest();
  /** Per blob, not per record: one ProcessedTime for the records processed together. */
  private readonly context: NormalizeContext;

  constructor(
    private readonly message: ContentMessage,
    private readonly contentUri: string,
    private row: LedgerEntry,
    private etag: string,
    private readonly deps: IngestContentDependencies,
    private readonly options: IngestContentOptions,
  ) {
    this.stream = { tenantId: message.tenantId, contentType: message.contentType };
    this.resumeFrom = row.resumeOffset ?? 0;
    this.started = deps.clock.now();
    this.leaseRenewedAt = this.started;
    this.leaseInMs = options.leaseInMs ?? DEFAULT_LEASE_MS;
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
      for await (const element of splitParsedJsonArray(this.countBytes(download.body))) {
        if (this.index < this.resumeFrom) {
          // Published by an earlier attempt: not sent again, but counted in the manifest's digest.
          this.digest.add(buildElement(element, this.context, { profile: this.options.eventProfile, index: this.index }).event.EventId);
          this.index++;
          continue;
        }
        const outgoing = await this.toOutgoing(element);
        this.digest.add(outgoing.messageId);
        await addToHub(publication, outgoing);
        this.index++;
        await this.checkpoint(publication.acknowledged);
      }
      if (this.index < this.resumeFrom) throw new PermanentError('MalformedContent', `the blob has ${this.index} records, fewer than the ${this.resumeFrom} already published`);
      const manifest = blobManifestEvent({ ...message, records: this.index, events: this.index, digest: this.digest, now: deps.clock.now() });
      await addToHub(publication, pipelineOutgoing(manifest));
      await publication.flush().catch((err: unknown) => {
        throw new FromSink(err);
      });
    } catch (err) {
      if (err instanceof LeaseLost) return this.leaseLost();
      if (!(err instanceof FromSink)) {
        // Salvage: what was read before the failure goes out before the failure is recorded.
        await publication.flush().catch((flushErr: unknown) => deps.logger.warn('could not flush the records read before the failure', { contentId: message.contentId, error: describeError(flushErr) }));
      }
      return this.failed(err instanceof FromSink ? err.inner : err, publication.acknowledged);
    }
    const completedAt = deps.clock.now();
    const saved = await this.save({
      status: 'done',
      records: this.index,
      // Acknowledged by the hub: by earlier attempts, and now (the manifest not counted).
      events: this.resumeFrom + publication.acknowledged - 1,
      recordsQuarantined: 0,
      bytes: this.bytes,
      resumeOffset: this.index,
      completedAt: new Date(completedAt).toISOString(),
      durationMs: completedAt - this.started,
      leaseOwner: undefined,
      leaseUntil: undefined,
      nextAttemptAt: undefined,
      lastError: undefined,
      brokeAtRecord: undefined,
      brokeAtByte: undefined,
    }).catch((err: unknown) => {
      if (err instanceof LeaseLost) return false;
      throw err;
    });
    if (saved === false) return this.leaseLost();
    const dims = { tenantId: message.tenantId, contentType: message.contentType };
    deps.metrics.count('records.published', this.index - this.resumeFrom, dims);
    deps.metrics.count('blobs.done', 1, dims);
    deps.logger.info('content delivered', {
      ...dims,
      contentId: message.contentId,
      records: this.index,
      resumedAt: this.resumeFrom || undefined,
      bytes: this.bytes,
      durationMs: completedAt - this.started,
      attempts: this.row.attempts,
    });
    return { status: 'done', contentId: message.contentId, records: this.index };
  }

  private async toOutgoing(element: SplitElement): Promise<OutgoingEvent> {
    const { message, deps } = this;
    // Normalize and serialize (an element that is not JSON is kept, its text as Raw).
    const { event, body: serialized } = serializeElement(element, this.context, { profile: this.options.eventProfile, index: this.index });
    const body = await bodyWithinBudget(event, serialized, () => element.text, `${message.tenantId}/${safeName(message.contentId)}`, message, deps, this.options);
    return { body, messageId: event.EventId, correlationId: message.contentId, properties: eventProperties(event) };
  }

  /**
   * After every batch the hub acknowledged, the row records how far it got (a retry or a worker taking over
   * resumes there, so a crash replays at most one batch); the same write renews the lease. A long stretch
   * without an acknowledgement renews the lease when half of it is gone.
   */
  private async checkpoint(acknowledged: number): Promise<void> {
    const offset = this.resumeFrom + acknowledged;
    const now = this.deps.clock.now();
    if (offset === this.checkpointed && now - this.leaseRenewedAt < this.leaseInMs / 2) return;
    await this.save({ resumeOffset: offset, leaseUntil: new Date(now + this.leaseInMs).toISOString() });
    this.checkpointed = offset;
    this.leaseRenewedAt = now;
  }

  /**
   * Replaces the row under the lease. Another writer may have touched the row meanwhile without taking the
   * lease (a poller recording its enqueue, reconcile re-enqueuing): then the patch is applied to the row as it
   * is now. Only a row whose lease another delivery holds, or that left `delivering`, means the lease is gone.
   */
  private async save(patch: LedgerPatch): Promise<void> {
    let base = this.row;
    let etag = this.etag;
    for (let race = 0; race < 5; race++) {
      const next = { ...base, ...patch } as LedgerEntry;
      const saved = await this.deps.ledger.replaceIf(next, etag, this.options);
      if (saved) {
        this.row = next;
        this.etag = saved;
        return;
      }
      const current = await this.deps.ledger.read(this.stream, this.message.contentId, this.options);
      if (!current || current.entry.status !== 'delivering' || current.entry.leaseOwner !== this.row.leaseOwner) break;
      base = current.entry;
      etag = current.etag;
    }
    throw new LeaseLost(`the lease on ${this.message.contentId} was taken over`);
  }

  private leaseLost(): IngestOutcome {
    const { message, deps } = this;
    deps.logger.warn('delivery lease lost to another worker; stopping without recording an outcome', { tenantId: message.tenantId, contentId: message.contentId, recordsRead: this.index });
    deps.metrics.count('blobs.leaseLost', 1, { tenantId: message.tenantId, contentType: message.contentType });
    return { status: 'leaseLost', contentId: message.contentId };
  }

  private async *countBytes(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of body) {
      this.bytes += chunk.byteLength;
      yield chunk;
    }
  }

  private async failed(err: unknown, acknowledged: number): Promise<IngestOutcome> {
    const resumeOffset = this.resumeFrom + acknowledged;
    const progress: LedgerPatch = { resumeOffset, records: Math.max(this.index, this.row.records ?? 0), events: resumeOffset };
    try {
      if (err instanceof JsonStreamError) {
        const broke: LedgerPatch = { ...progress, brokeAtRecord: this.index, brokeAtByte: err.offset };
        const what = `content is not a JSON array after record ${this.index} (${err.message}); ${resumeOffset} records were published before it`;
        if ((this.row.attempts ?? 1) < MALFORMED_ATTEMPTS) return await this.retryLater(what, broke);
        const reason = `${what}; permanently malformed after ${this.row.attempts} downloads`;
        await this.quarantineContent(reason);
        return await this.end('failed', reason, broke);
      }
      if (err instanceof IngestError && !err.retryable) {
        const status: FinalStatus = err.code === 'ContentExpired' ? 'expired' : err.code === 'ContentMissing' ? 'missing' : 'failed';
        return await this.end(status, err.reason, progress);
      }
      return await this.retryLater(describeError(err), progress, err);
    } catch (saveErr) {
      if (saveErr instanceof LeaseLost) return this.leaseLost();
      throw saveErr;
    }
  }

  /** Transient: release the lease, remember how far the hub got, and put the blob back on the queue after the backoff. */
  private async retryLater(lastError: string, patch: LedgerPatch, err?: unknown): Promise<IngestOutcome> {
    const { deps, message } = this;
    const now = deps.clock.now();
    const attempts = this.row.attempts ?? 1;
    const decision = nextRetry(attempts, message.contentExpiration, now, this.options.retry ?? DEFAULT_RETRY_POLICY, deps.random?.() ?? 0);
    if (!decision.retry) return this.end('failed', `${decision.reason}; last error: ${lastError}`, patch);
    await this.save({
      ...patch,
      status: 'listed',
      lastError,
      leaseOwner: undefined,
      leaseUntil: undefined,
      enqueuedAt: new Date(now).toISOString(),
      nextAttemptAt: new Date(decision.nextAttemptAt).toISOString(),
    });
    await deps.queue.enqueue([message], { visibilityDelayInMs: decision.delayInMs, abortSignal: this.options.abortSignal });
    const dims = { tenantId: message.tenantId, contentType: message.contentType };
    deps.logger.warn('content delivery failed; retrying after a backoff', { ...dims, contentId: message.contentId, attempt: attempts, resumeOffset: patch.resumeOffset, delayMs: decision.delayInMs, error: lastError });
    deps.metrics.count('blobs.retry', 1, { ...dims, code: err instanceof IngestError ? err.code : err === undefined ? 'Malformed' : 'Unexpected' });
    return { status: 'retrying', contentId: message.contentId, reason: lastError, delayInMs: decision.delayInMs };
  }

  private end(status: FinalStatus, reason: string, patch: LedgerPatch): Promise<IngestOutcome> {
    const row = { ...this.row, ...patch } as LedgerEntry;
    const published = (patch.resumeOffset ?? 0) > 0 ? patch.resumeOffset : undefined;
    return endWith(status, reason, this.message, row, this.deps, this.options, published, (p) => this.save({ ...patch, ...p, leaseOwner: undefined, leaseUntil: undefined, nextAttemptAt: undefined }));
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

/**
 * A contentUri from a message is used only if it names this blob on the tenant's management host
 * under its feed path; otherwise it is rebuilt from the content id (the API has served wrong-host URIs).
 */
function guardedContentUri(message: ContentMessage, managementEndpoint: string, deps: IngestContentDependencies, fields: Record<string, string>): string {
  const canonical = contentUriFor(managementEndpoint, message.tenantId, message.contentId);
  const verdict = checkFeedUrl(message.contentUri, managementEndpoint, message.tenantId);
  const namesThisBlob = verdict.ok && verdict.url.pathname.endsWith(`/activity/feed/audit/${message.contentId}`);
  if (namesThisBlob) return message.contentUri;
  deps.logger.warn('contentUri anomaly: rebuilt from the management host, tenant and contentId', { ...fields, problem: verdict.ok ? 'not this blob' : verdict.problem, host: hostOf(message.contentUri) });
  deps.metrics.count('contentUri.rebuilt', 1, { tenantId: message.tenantId });
  return canonical;
}

function hostOf(uri: string): string {
  try {
    return new URL(uri).host;
  } catch {
    return '(unparseable)';
  }
}

