import { mapLimit } from '../core/concurrency.js';
import { describeError, PermanentError } from '../core/errors.js';
import { compareGraphTimestamps, graphTimestampMinus, isGraphTimestamp, type PartitionKeyMode, type SecurityStreamKey } from '../core/model.js';
import { lastUpdateOf, normalizeDefender, type DefenderEntityKind, type DefenderEvent } from '../core/normalize/defender.js';
import { partitionKeyFor } from '../core/partitionKey.js';
import { keepRevisions, parseRevisions, revisionHash } from '../core/revisions.js';
import { MINUTE_MS } from '../core/windows.js';
import type { BlobStore, Clock, CursorStore, EventSink, Ledger, Logger, Metrics, SecurityFeed } from '../ports.js';
import type { OutgoingEvent, SecurityPage } from '../core/io.js';
import type { LedgerEntry } from '../core/ledger.js';
import { bodyWithinBudget } from './common/hubEvents.js';
import type { StreamOutcome } from './common/streamCursor.js';
import { CursorRun } from './common/streamRun.js';

/** The ports a Defender XDR poll works through. */
export interface PollSecurityDependencies {
  readonly feed: SecurityFeed;
  readonly cursors: CursorStore;
  readonly ledger: Ledger;
  readonly sink: EventSink;
  readonly blobs: BlobStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Settings of one pollSecurity run. */
export interface PollSecurityOptions {
  /** Each scan starts this long before the cursor, for entities Graph makes visible late. Default 10 minutes. */
  readonly overlapInMs?: number;
  /** Where a stream's first scan starts. */
  readonly initialLookbackInMs: number;
  readonly maxEventBytes: number;
  /** `content` partitions by incident (the Defender analogue of a content blob), or by tenant, or not at all. */
  readonly partitionKeyMode: PartitionKeyMode;
  /** Streams polled at once. */
  readonly concurrency: number;
  /** Epoch ms by which the run must have stopped starting work (well before the function timeout). */
  readonly deadlineAtMs: number;
  readonly abortSignal?: AbortSignal;
}

/** How one stream's scan ended, for the function's log line. */
export interface SecurityPollResult {
  readonly stream: SecurityStreamKey;
  readonly outcome: StreamOutcome;
  /** Where the scan started: `cursor − overlap`, or the initial lookback. */
  readonly since?: string;
  readonly pages: number;
  /** Events published: one per revision not published before. */
  readonly events: number;
  /** Revisions the overlap served again that an earlier run had already published (not sent twice). */
  readonly skipped: number;
  readonly cursor?: string;
  /** Why the stream stopped early or failed. */
  readonly reason?: string;
}

/** Each scan re-reads this much before the cursor: Graph can list a revision minutes after its timestamp. */
export const DEFAULT_SECURITY_OVERLAP_MS = 10 * MINUTE_MS;

/** A lastUpdateDateTime later than now by more than this never moves the cursor (it is delivered, with a warning). */
export const FUTURE_TOLERANCE_MS = 5 * MINUTE_MS;

/** Publications (one per incident) of a page sent at once. */
const PUBLISH_CONCURRENCY = 8;

const KIND_OF: Readonly<Record<SecurityStreamKey['contentType'], DefenderEntityKind>> = {
  'DefenderXDR.Incidents': 'incident',
  'DefenderXDR.Alerts': 'alert',
};

/**
 * Polls the Defender XDR streams (incidents, alerts) of Microsoft Graph security: per stream, scan
 * every entity updated since `cursor − overlap`, normalize each revision, publish them (partition key =
 * incident id), record each page in the ledger, and only after every page is acknowledged by the hub
 * move the cursor (ETag-guarded) to the greatest `lastUpdateDateTime` seen, kept verbatim. A failure
 * or an exhausted time budget leaves the cursor where it was, so the next run scans the same range
 * again: revisions may be delivered twice (same EventId), never lost. Streams are isolated: a failure
 * is recorded on the stream's own cursor row.
 */
export async function pollSecurity(streams: readonly SecurityStreamKey[], deps: PollSecurityDependencies, options: PollSecurityOptions): Promise<SecurityPollResult[]> {
  // run() records every failure on the stream's own row and never throws, so one stream cannot stop another.
  return mapLimit(streams, options.concurrency, (stream) => new SecurityScan(stream, deps, options).run());
}

/** One stream's scan: owns its cursor row for the duration of the run. */
class SecurityScan extends CursorRun<SecurityPollResult> {
  private since?: string;
  private readonly kind: DefenderEntityKind;
  private readonly counts = { pages: 0, events: 0, skipped: 0 };
  /** Revisions published before (kept on the row), and every revision seen this scan with its timestamp. */
  private previous: ReadonlySet<string> = new Set();
  private readonly seen = new Map<string, string>();
  private futureWarnings = 0;

  constructor(
    private readonly stream: SecurityStreamKey,
    private readonly deps: PollSecurityDependencies,
    private readonly options: PollSecurityOptions,
  ) {
    super(stream, deps, options);
    this.kind = KIND_OF[stream.contentType];
  }

  protected async work(): Promise<SecurityPollResult> {
    await this.row.load();
    const now = this.deps.clock.now();
    this.row.update({ lastRunAt: iso(now) });
    // Claim the stream for this run: a poller that read the row before this write loses it here, before any work.
    await this.row.save();
    this.previous = parseRevisions(this.state.recentRevisions);
    const since = (this.since = this.startOfScan(now));

    let newest: string | undefined;
    for await (const page of this.deps.feed.listUpdated(this.stream, since, this.call)) {
      newest = later(newest, await this.deliver(page, since, now));
      if (this.outOfTime()) {
        this.row.update({ recentRevisions: keepRevisions(this.seen, undefined, this.previous) });
        await this.row.save();
        return this.finish('partial', 'time budget reached mid-scan; the next run scans again from the cursor');
      }
    }
    // Never backwards: the overlap re-reads entities older than the cursor.
    const cursor = later(this.validCursor(), newest);
    const nextSince = cursor === undefined ? since : graphTimestampMinus(cursor, this.options.overlapInMs ?? DEFAULT_SECURITY_OVERLAP_MS);
    this.row.succeeded({ cursor, recentRevisions: keepRevisions(this.seen, nextSince, this.previous) });
    await this.row.save();
    return this.finish('complete');
  }

  /**
   * `cursor − overlap`, or the initial lookback on a first run. A cursor that is not a timestamp, or lies
   * beyond now + 5 minutes, is an error on the stream (scanning from it would find nothing and call the
   * stream complete): the run stops, and the row, the log and a metric say so until someone resets it.
   */
  private startOfScan(now: number): string {
    const cursor = this.state.cursor;
    if (cursor === undefined) return iso(now - this.options.initialLookbackInMs);
    const problem = !isGraphTimestamp(cursor) ? 'is not a timestamp' : compareGraphTimestamps(cursor, iso(now + FUTURE_TOLERANCE_MS)) > 0 ? 'lies in the future' : undefined;
    if (problem === undefined) return graphTimestampMinus(cursor, this.options.overlapInMs ?? DEFAULT_SECURITY_OVERLAP_MS);
    this.deps.metrics.count('stream.cursor.invalid', 1, { tenantId: this.stream.tenantId, contentType: this.stream.contentType });
    throw new PermanentError(
      'InvalidCursor',
      `tenant ${this.stream.tenantId}: the ${this.stream.contentType} cursor ${JSON.stringify(cursor.slice(0, 64))} ${problem}, so scanning from it would find nothing. ` +
        'Set the cursor row\'s "cursor" to the time to scan from (Graph keeps incidents and alerts, so nothing is lost meanwhile), or remove it to scan the initial lookback.',
      { tenantId: this.stream.tenantId },
    );
  }

  private validCursor(): string | undefined {
    return isGraphTimestamp(this.state.cursor) ? this.state.cursor : undefined;
  }

  /**
   * Publishes one page (a publication per partition key, each in page order) and records it in the
   * ledger once the hub has acknowledged all of it. Returns the newest `lastUpdateDateTime` on the page.
   */
  private async deliver(page: SecurityPage, since: string, now: number): Promise<string | undefined> {
    const { deps, stream } = this;
    const started = deps.clock.now();
    const pageId = `${since}|p${String(page.pageNumber).padStart(4, '0')}`;
    const context = { kind: this.kind, tenantId: stream.tenantId, pageId, processedTime: iso(started) };
    const groups = new Map<string | undefined, OutgoingEvent[]>();
    const horizon = iso(now + FUTURE_TOLERANCE_MS);
    let newest: string | undefined;
    let bytes = 0;
    let published = 0;
    const revisions: [string, string][] = [];
    for (const item of page.items) {
      const updated = lastUpdateOf(item);
      const hash = updated === undefined ? undefined : revisionHash(String((item as { id?: unknown }).id), updated);
      if (hash !== undefined) revisions.push([hash, updated!]);
      // Published by an earlier run, served again by the overlap: not sent twice.
      if (hash !== undefined && this.previous.has(hash)) {
        this.counts.skipped++;
        continue;
      }
      if (updated !== undefined && compareGraphTimestamps(updated, horizon) > 0) {
        // Delivered, but it must not carry the cursor past now: later changes would never be scanned.
        if (this.futureWarnings++ < 5) deps.logger.warn('an entity\'s lastUpdateDateTime lies in the future: delivered, but it does not move the cursor', { stream: this.id, id: String((item as { id?: unknown }).id), lastUpdateDateTime: updated });
        deps.metrics.count('security.timestamp.future', 1, { tenantId: stream.tenantId, stream: stream.contentType });
      } else {
        newest = later(newest, updated);
      }
      published++;
      const event = normalizeDefender(item, context);
      const outgoing = await this.toOutgoing(event, pageId);
      bytes += Buffer.byteLength(outgoing.body, 'utf8');
      const key = partitionKeyFor(this.options.partitionKeyMode, stream.tenantId, event.IncidentId ?? event.EventOriginalUid ?? event.EventId);
      const group = groups.get(key);
      if (group) group.push(outgoing);
      else groups.set(key, [outgoing]);
    }
    await mapLimit([...groups], PUBLISH_CONCURRENCY, async ([partitionKey, events]) => {
      const publication = deps.sink.open({ partitionKey, abortSignal: this.options.abortSignal });
      for (const event of events) await publication.add(event);
      await publication.flush();
    });
    // Acknowledged: from now on these revisions count as published, even if a later page fails.
    for (const [hash, updated] of revisions) this.seen.set(hash, updated);
    if (published > 0) await this.record(page, pageId, started, bytes, published);
    this.counts.pages++;
    this.counts.events += published;
    deps.metrics.count('security.events.published', published, { tenantId: stream.tenantId, stream: stream.contentType });
    return newest;
  }

  private async toOutgoing(event: DefenderEvent, pageId: string): Promise<OutgoingEvent> {
    const body = await bodyWithinBudget(event, JSON.stringify(event), () => JSON.stringify(event.Raw), `${this.stream.tenantId}/${this.stream.contentType}`, this.stream, this.deps, this.options);
    return {
      body,
      messageId: event.EventId,
      correlationId: pageId,
      properties: {
        EnvelopeVersion: event.EnvelopeVersion,
        EventSchema: event.EventSchema,
        Source: event.Source,
        SourceContentType: event.SourceContentType,
        OrganizationId: event.OrganizationId,
        // Marks AMQP-encoded headers for Kafka readers (docs/architecture.md, "The normalized event").
        AMQPheaders: '1',
      },
    };
  }

  /**
   * The page's ledger row: `done` with its counts. The row key derives from the scan's start, so a
   * rescan of the same range (after a failure, or a quiet tenant whose cursor stays) updates the row.
   */
  private async record(page: SecurityPage, pageId: string, started: number, bytes: number, published: number): Promise<void> {
    const { deps, stream } = this;
    const now = deps.clock.now();
    const counts = { records: published, events: published, bytes, completedAt: iso(now), durationMs: now - started };
    const row: LedgerEntry = {
      tenantId: stream.tenantId,
      contentType: stream.contentType,
      contentId: pageId,
      contentUri: page.url,
      // When the page was served: the hour a page is accounted in, and what delivery lag measures.
      contentCreated: iso(started),
      // A page never expires; nothing waits on it.
      contentExpiration: '',
      listedAt: iso(started),
      status: 'done',
      attempts: 1,
      ...counts,
    };
    const inserted = await deps.ledger.insertIfAbsent([row], this.call);
    if (inserted.length === 0) {
      // A rescan of the same range published revisions this row did not hold yet: add them.
      const existing = await deps.ledger.get(stream, pageId, this.call);
      const sum = (key: 'records' | 'events' | 'bytes') => (existing?.[key] ?? 0) + counts[key];
      await deps.ledger.update(stream, pageId, { contentUri: page.url, contentCreated: row.contentCreated, listedAt: row.listedAt, status: 'done', ...counts, records: sum('records'), events: sum('events'), bytes: sum('bytes') }, this.call);
    }
  }

  protected async fail(err: unknown): Promise<SecurityPollResult> {
    // Pages acknowledged before the failure stay published: the rescan of the same range skips them.
    if (this.seen.size > 0) this.row.update({ recentRevisions: keepRevisions(this.seen, undefined, this.previous) });
    await this.row.recordFailure(
      err,
      this.deps,
      { retryable: 'security stream poll failed; the next run scans the same range again', permanent: 'security stream poll failed and needs attention' },
      { pagesDelivered: this.counts.pages },
    );
    return this.finish('failed', describeError(err));
  }

  protected finish(outcome: StreamOutcome, reason?: string): SecurityPollResult {
    return { stream: this.stream, outcome, since: this.since, ...this.counts, cursor: this.state.cursor, reason };
  }
}

/** The later of two Graph timestamps (exact comparison; undefined counts as earliest). */
function later(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareGraphTimestamps(b, a) > 0 ? b : a;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
