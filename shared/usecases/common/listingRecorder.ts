import { CONTAINER_QUARANTINE } from '../../core/containers.js';
import { toContentMessage } from '../../core/contentMessage.js';
import { describeError } from '../../core/errors.js';
import { isValidContentId } from '../../core/feedUrls.js';
import { ASSUMED_RETENTION_MS, synthesizedId, type RejectedListing } from '../../core/listingEntry.js';
import { streamId, type ContentListing, type StreamKey, type TimeWindow } from '../../core/model.js';
import { pipelineErrorEvent } from '../../core/pipelineEvent.js';
import type { BlobStore, Clock, ContentQueue, EventSink, Ledger, ListingLog, Logger, Metrics } from '../../ports.js';
import type { CallOptions, ListingPage } from '../../core/io.js';
import type { FoundBy, LedgerEntry, ListingFact } from '../../core/ledger.js';
import { publishPipelineEvent } from './hubEvents.js';

/**
 * How every listing (a poll, a sweep, an operator backfill) is recorded, shared by those use cases: the
 * listing facts first (which contentIds the API listed, kept apart from delivery state), then the ledger
 * rows the window lacks, then exactly those rows enqueued. An entry that cannot be used becomes a `failed`
 * row with its reason, its JSON in quarantine and a pipeline event; the rest of the page goes on.
 */
export interface ListingRecorderDependencies {
  readonly ledger: Ledger;
  readonly queue: ContentQueue;
  readonly listings: ListingLog;
  readonly sink: EventSink;
  readonly blobs: BlobStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export type ListingBy = Exclude<FoundBy, 'message'>;

/** What recording one page did. */
export interface PageRecord {
  /** Rows this page inserted and enqueued (the blobs the ledger lacked). */
  readonly found: readonly LedgerEntry[];
  /** Unusable entries recorded for the first time. */
  readonly rejected: number;
  /** Storage calls made: listing-fact writes, ledger reads and inserts, enqueues, marks, quarantine writes. */
  readonly storageCalls: number;
}

/**
 * Records the pages of one window. With {@link open}, the window's ledger rows are read first by one
 * ranged query and only entries the ledger lacks are inserted (a re-list of a known window costs one
 * query, not one insert per entry); without it every entry is offered to insert-if-absent.
 */
export class WindowRecorder {
  private known?: Set<string>;
  /** Ledger rows the ranged query returned. */
  ledgerRowsRead = 0;

  constructor(
    private readonly stream: StreamKey,
    private readonly window: TimeWindow,
    private readonly by: ListingBy,
    private readonly deps: ListingRecorderDependencies,
    private readonly call: CallOptions,
  ) {}

  /** Reads the contentIds the ledger holds for the window (contentCreated in [start, end)). */
  async open(): Promise<void> {
    const known = new Set<string>();
    for await (const row of this.deps.ledger.query(this.stream, { createdFrom: iso(this.window.start), createdTo: iso(this.window.end) }, this.call)) known.add(row.contentId);
    this.ledgerRowsRead = known.size;
    this.known = known;
  }

  async page(listing: ListingPage): Promise<PageRecord> {
    const { deps, stream } = this;
    const listedAt = iso(deps.clock.now());
    const page = checked(listing);
    const rejected = page.rejected ?? [];
    let storageCalls = 0;
    const facts: ListingFact[] = [
      ...page.items.map((item) => ({ contentId: item.contentId, contentCreated: item.contentCreated, listedAt, by: this.by })),
      ...rejected.map((r) => ({ contentId: r.contentId, contentCreated: this.createdOf(r), listedAt, by: this.by })),
    ];
    // Facts before rows: a ledger row that goes missing later still shows as listed.
    if (facts.length > 0) {
      await deps.listings.record(stream, facts, this.call);
      storageCalls++;
    }
    for (const repaired of page.repaired ?? []) {
      deps.logger.warn('listing entry repaired', { stream: streamId(stream), contentId: repaired.contentId, repairs: repaired.repairs });
      deps.metrics.count('listing.entries.repaired', 1, { tenantId: stream.tenantId, contentType: stream.contentType });
    }
    let recordedRejects = 0;
    for (const entry of rejected) {
      const outcome = await this.recordRejected(entry, listedAt);
      storageCalls += outcome.storageCalls;
      if (outcome.recorded) recordedRejects++;
    }
    const fresh = page.items.filter((item) => !this.known?.has(item.contentId));
    const { inserted, storageCalls: calls } = await recordListing(stream, fresh, this.by, deps, this.call);
    for (const item of page.items) this.known?.add(item.contentId);
    return { found: inserted, rejected: recordedRejects, storageCalls: storageCalls + calls };
  }

  /** An unusable entry: quarantine, a `failed` ledger row with the reason, an error log, a metric, a pipeline event. */
  private async recordRejected(entry: RejectedListing, listedAt: string): Promise<{ recorded: boolean; storageCalls: number }> {
    const { deps, stream } = this;
    if (this.known?.has(entry.contentId)) return { recorded: false, storageCalls: 0 };
    // Recorded on an earlier listing (the overlap lists it again every run): nothing more to do.
    if (await deps.ledger.get(stream, entry.contentId, this.call)) {
      this.known?.add(entry.contentId);
      return { recorded: false, storageCalls: 1 };
    }
    const name = `listings/${stream.tenantId}/${stream.contentType}/${entry.contentId}.json`;
    await deps.blobs.put(
      CONTAINER_QUARANTINE,
      name,
      JSON.stringify({ reason: entry.reason, listedAt, by: this.by, window: { start: iso(this.window.start), end: iso(this.window.end) }, entry: entry.entry }),
      { contentType: 'application/json', abortSignal: this.call.abortSignal },
    );
    const contentCreated = this.createdOf(entry);
    const row: LedgerEntry = {
      tenantId: stream.tenantId,
      contentType: stream.contentType,
      contentId: entry.contentId,
      contentUri: entry.contentUri ?? '',
      contentCreated,
      contentExpiration: entry.contentExpiration ?? iso(Date.parse(contentCreated) + ASSUMED_RETENTION_MS),
      listedAt,
      status: 'failed',
      attempts: 0,
      lastError: entry.reason,
      completedAt: listedAt,
      foundBy: this.by,
    };
    const inserted = await deps.ledger.insertIfAbsent([row], this.call);
    this.known?.add(entry.contentId);
    if (inserted.length === 0) return { recorded: false, storageCalls: 3 };
    deps.logger.error('unusable listing entry recorded as failed', { stream: streamId(stream), contentId: entry.contentId, reason: entry.reason, quarantined: `${CONTAINER_QUARANTINE}/${name}` });
    deps.metrics.count('listing.entries.unusable', 1, { tenantId: stream.tenantId, contentType: stream.contentType });
    await publishPipelineEvent(
      pipelineErrorEvent({ ...row, status: 'failed', reason: entry.reason, attempts: 0, now: deps.clock.now() }),
      deps,
    );
    return { recorded: true, storageCalls: 3 };
  }

  /** An entry without a readable contentCreated belongs to the window it was listed in: its start stands in. */
  private createdOf(entry: RejectedListing): string {
    return entry.contentCreated ?? iso(this.window.start);
  }
}

/**
 * A second line of defence behind the feed's own checks: an item whose contentId cannot be a row key or a
 * URL segment is moved to the rejected entries, so it can never fail the page's ledger insert.
 */
function checked(page: ListingPage): ListingPage {
  const bad = page.items.filter((item) => !isValidContentId(item.contentId));
  if (bad.length === 0) return page;
  return {
    ...page,
    items: page.items.filter((item) => isValidContentId(item.contentId)),
    rejected: [
      ...(page.rejected ?? []),
      ...bad.map((item) => {
        const entry = JSON.stringify(item);
        return { contentId: synthesizedId(typeof item.contentId === 'string' ? item.contentId : entry), reason: 'unusable listing entry: contentId cannot name a blob', entry, contentCreated: item.contentCreated, contentExpiration: item.contentExpiration };
      }),
    ],
  };
}

/**
 * Ledger first (insert-if-absent, `foundBy` set), then enqueue exactly the new rows, then mark them
 * enqueued. Rows whose enqueue failed are given back, so the next listing inserts and enqueues them again.
 */
export async function recordListing(
  stream: StreamKey,
  items: readonly ContentListing[],
  by: ListingBy,
  deps: Pick<ListingRecorderDependencies, 'ledger' | 'queue' | 'clock' | 'logger' | 'metrics'>,
  call: CallOptions,
): Promise<{ inserted: LedgerEntry[]; storageCalls: number }> {
  if (items.length === 0) return { inserted: [], storageCalls: 0 };
  const listedAt = deps.clock.now();
  const unique = new Map<string, ContentListing>();
  for (const item of items) if (!unique.has(item.contentId)) unique.set(item.contentId, item);
  const entries: LedgerEntry[] = [...unique.values()].map((item) => ({
    tenantId: stream.tenantId,
    contentType: stream.contentType,
    contentId: item.contentId,
    contentUri: item.contentUri,
    contentCreated: item.contentCreated,
    contentExpiration: item.contentExpiration,
    listedAt: iso(listedAt),
    status: 'listed',
    attempts: 0,
    foundBy: by,
  }));
  const inserted = await deps.ledger.insertIfAbsent(entries, call);
  if (inserted.length === 0) return { inserted, storageCalls: entries.length };
  const ids = inserted.map((e) => e.contentId);
  try {
    await deps.queue.enqueue(inserted.map((e) => toContentMessage(stream, unique.get(e.contentId)!, listedAt)), call);
  } catch (err) {
    await deps.ledger.forget(stream, ids, call).catch((forgetErr: unknown) =>
      deps.logger.error('could not undo ledger rows after a failed enqueue; reconcile will re-enqueue them', { stream: streamId(stream), count: ids.length, error: describeError(forgetErr) }),
    );
    throw err;
  }
  const enqueuedAt = iso(deps.clock.now());
  await deps.ledger.markEnqueued(stream, ids, enqueuedAt, call);
  deps.metrics.count('blobs.enqueued', ids.length, { tenantId: stream.tenantId, contentType: stream.contentType, foundBy: by });
  return { inserted: inserted.map((e) => ({ ...e, enqueuedAt })), storageCalls: entries.length + 2 * ids.length };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
