import type { ContentMessage } from '../../shared/core/contentMessage.js';
import { PermanentError, TransientError, type IngestError } from '../../shared/core/errors.js';
import { streamId, type AnyStreamKey, type ContentListing, type SecurityStreamKey, type StreamKey, type TimeWindow } from '../../shared/core/model.js';
import type { RejectedListing } from '../../shared/core/listingEntry.js';
import { utcHourOf } from '../../shared/core/windows.js';
import type { ActivityFeed, BlobStore, Clock, ContentQueue, ContentSource, CursorStore, EventPublication, EventSink, GapStore, HealthStore, Ledger, ListingLog, Logger, Metrics, SecurityFeed, SummaryStore, SweepStore } from '../../shared/ports.js';
import type { HourSummary, StreamHealth, SummaryProgress } from '../../shared/core/accounting.js';
import type { GapHeal, GapRecord } from '../../shared/core/gaps.js';
import type { OutgoingEvent, SecurityPage } from '../../shared/core/io.js';
import type { CursorState, LedgerEntry, LedgerFilter, LedgerPatch, ListingFact, SweepState } from '../../shared/core/ledger.js';

/** In-memory fakes of the ports, for use-case unit tests. Integration tests use the real adapters. */

export class ManualClock implements Clock {
  constructor(public current: number) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

export class MemoryLedger implements Ledger {
  readonly rows = new Map<string, LedgerEntry>();
  /** ETag per row key; every write makes a new one. */
  private readonly etags = new Map<string, string>();
  private version = 0;
  private touch(key: string): string {
    const etag = `e${++this.version}`;
    this.etags.set(key, etag);
    return etag;
  }
  key(stream: AnyStreamKey, contentId: string): string {
    return `${streamId(stream)}|${contentId}`;
  }
  async insertIfAbsent(entries: readonly LedgerEntry[]): Promise<LedgerEntry[]> {
    const inserted: LedgerEntry[] = [];
    for (const entry of entries) {
      const key = this.key(entry as unknown as StreamKey, entry.contentId);
      if (this.rows.has(key)) continue;
      this.rows.set(key, entry);
      this.touch(key);
      inserted.push(entry);
    }
    return inserted;
  }
  async forget(stream: AnyStreamKey, contentIds: readonly string[]): Promise<void> {
    for (const id of contentIds) {
      this.rows.delete(this.key(stream, id));
      this.etags.delete(this.key(stream, id));
    }
  }
  async markEnqueued(stream: StreamKey, contentIds: readonly string[], at: string): Promise<void> {
    for (const id of contentIds) {
      const row = this.rows.get(this.key(stream, id));
      if (row) {
        this.rows.set(this.key(stream, id), { ...row, enqueuedAt: at });
        this.touch(this.key(stream, id));
      }
    }
  }
  async get(stream: AnyStreamKey, contentId: string): Promise<LedgerEntry | undefined> {
    return this.rows.get(this.key(stream, contentId));
  }
  async read(stream: AnyStreamKey, contentId: string): Promise<{ entry: LedgerEntry; etag: string } | undefined> {
    const key = this.key(stream, contentId);
    const entry = this.rows.get(key);
    return entry && { entry, etag: this.etags.get(key)! };
  }
  async replaceIf(entry: LedgerEntry, etag: string): Promise<string | undefined> {
    const key = this.key(entry as unknown as StreamKey, entry.contentId);
    if (!this.rows.has(key) || this.etags.get(key) !== etag) return undefined;
    this.rows.set(key, Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined)) as unknown as LedgerEntry);
    return this.touch(key);
  }
  async *query(stream: AnyStreamKey, filter: LedgerFilter): AsyncIterable<LedgerEntry> {
    for (const row of this.rows.values()) {
      if (row.tenantId !== stream.tenantId || row.contentType !== stream.contentType) continue;
      if (filter.statuses && !filter.statuses.includes(row.status)) continue;
      if (filter.createdFrom && row.contentCreated < filter.createdFrom) continue;
      if (filter.createdTo && row.contentCreated >= filter.createdTo) continue;
      yield row;
    }
  }
  async update(stream: AnyStreamKey, contentId: string, patch: LedgerPatch): Promise<void> {
    const row = this.rows.get(this.key(stream, contentId));
    if (!row) throw new Error(`no ledger row ${contentId}`);
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    this.rows.set(this.key(stream, contentId), { ...row, ...defined });
    this.touch(this.key(stream, contentId));
  }
}

export class MemoryQueue implements ContentQueue {
  readonly messages: ContentMessage[] = [];
  /** The visibility delay each message was enqueued with (0 when none), parallel to `messages`. */
  readonly delays: number[] = [];
  failNext = 0;
  async enqueue(messages: readonly ContentMessage[], options: { visibilityDelayInMs?: number } = {}): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('queue unavailable');
    }
    this.messages.push(...messages);
    this.delays.push(...messages.map(() => options.visibilityDelayInMs ?? 0));
  }
  async approximateDepth(): Promise<number> {
    return this.messages.length;
  }
}

export class MemoryListingLog implements ListingLog {
  /** `tenant|contentType|hour` → contentId → fact. */
  readonly hours = new Map<string, Map<string, ListingFact>>();
  async record(stream: StreamKey, facts: readonly ListingFact[]): Promise<void> {
    for (const fact of facts) {
      const key = `${streamId(stream)}|${utcHourOf(fact.contentCreated)}`;
      let ids = this.hours.get(key);
      if (!ids) this.hours.set(key, (ids = new Map()));
      ids.set(fact.contentId, fact);
    }
  }
  async *hour(stream: StreamKey, hour: string): AsyncIterable<ListingFact> {
    yield* this.hours.get(`${streamId(stream)}|${hour}`)?.values() ?? [];
  }
  async *range(stream: StreamKey, fromHour: string, toHour: string): AsyncIterable<ListingFact> {
    for (const [key, ids] of [...this.hours].sort(([a], [b]) => a.localeCompare(b))) {
      if (key >= `${streamId(stream)}|${fromHour}` && key < `${streamId(stream)}|${toHour}`) yield* ids.values();
    }
  }
  async deleteHour(stream: StreamKey, hour: string): Promise<void> {
    this.hours.delete(`${streamId(stream)}|${hour}`);
  }
  /** Every fact of a stream (tests). */
  all(stream: StreamKey): ListingFact[] {
    return [...this.hours].filter(([key]) => key.startsWith(`${streamId(stream)}|`)).flatMap(([, ids]) => [...ids.values()]);
  }
}

export class MemoryGapStore implements GapStore {
  readonly gaps = new Map<string, GapRecord>();
  async record(gap: GapRecord): Promise<void> {
    this.gaps.set(`${gap.tenantId}|${gap.contentType}|${gap.start}`, gap);
  }
  async list(stream: AnyStreamKey): Promise<GapRecord[]> {
    return [...this.gaps.values()].filter((g) => g.tenantId === stream.tenantId && g.contentType === stream.contentType).sort((a, b) => a.start.localeCompare(b.start));
  }
  async listAll(): Promise<GapRecord[]> {
    return [...this.gaps.values()].sort((a, b) => a.start.localeCompare(b.start));
  }
  async updateHeal(stream: AnyStreamKey, start: string, heal: GapHeal): Promise<boolean> {
    const key = `${streamId(stream)}|${start}`;
    const gap = this.gaps.get(key);
    if (!gap) return false;
    this.gaps.set(key, { ...gap, heal });
    return true;
  }
  async remove(stream: AnyStreamKey, start: string): Promise<void> {
    this.gaps.delete(`${streamId(stream)}|${start}`);
  }
}

export class MemorySweepStore implements SweepStore {
  readonly rows = new Map<string, SweepState>();
  async read(stream: StreamKey): Promise<SweepState | undefined> {
    return this.rows.get(streamId(stream));
  }
  async write(stream: StreamKey, state: SweepState): Promise<void> {
    this.rows.set(streamId(stream), state);
  }
}

export class MemorySummaryStore implements SummaryStore {
  /** streamId → hour → summary. */
  readonly rows = new Map<string, Map<string, HourSummary>>();
  readonly progressRows = new Map<string, SummaryProgress>();
  private of(stream: AnyStreamKey): Map<string, HourSummary> {
    let rows = this.rows.get(streamId(stream));
    if (!rows) this.rows.set(streamId(stream), (rows = new Map()));
    return rows;
  }
  async write(stream: AnyStreamKey, summaries: readonly HourSummary[]): Promise<void> {
    for (const s of summaries) this.of(stream).set(s.hour, s);
  }
  async range(stream: AnyStreamKey, fromHour: string, toHour: string): Promise<HourSummary[]> {
    return [...this.of(stream).values()].filter((s) => s.hour >= fromHour && s.hour < toHour).sort((a, b) => a.hour.localeCompare(b.hour));
  }
  async deleteBefore(stream: AnyStreamKey, hour: string): Promise<void> {
    for (const key of this.of(stream).keys()) if (key < hour) this.of(stream).delete(key);
  }
  async progress(stream: AnyStreamKey): Promise<SummaryProgress> {
    return this.progressRows.get(streamId(stream)) ?? {};
  }
  async writeProgress(stream: AnyStreamKey, progress: SummaryProgress): Promise<void> {
    this.progressRows.set(streamId(stream), progress);
  }
}

/** The stores reconcile needs beyond ledger, cursors, queue and health, empty. */
export function reconcileStores() {
  return { listings: new MemoryListingLog(), summaries: new MemorySummaryStore(), sweeps: new MemorySweepStore(), gaps: new MemoryGapStore() };
}

export class MemoryCursorStore implements CursorStore {
  readonly rows = new Map<string, { state: CursorState; etag: string }>();
  private version = 0;
  writes = 0;
  async read(stream: AnyStreamKey) {
    return this.rows.get(streamId(stream));
  }
  async write(stream: AnyStreamKey, state: CursorState, etag: string | undefined): Promise<string | undefined> {
    const current = this.rows.get(streamId(stream));
    if ((current?.etag ?? undefined) !== etag) return undefined;
    const next = `v${++this.version}`;
    this.rows.set(streamId(stream), { state, etag: next });
    this.writes++;
    return next;
  }
}

interface FeedBlob extends ContentListing {
  readonly stream: string;
}

/** A feed over a list of blobs: filters by window, pages, and fails on request. */
export class ScriptedFeed implements ActivityFeed {
  readonly blobs: FeedBlob[] = [];
  readonly starts: string[] = [];
  readonly lists: Array<{ stream: string; window: TimeWindow }> = [];
  pageSize = 3;
  /** Errors thrown by the next list calls, in order (before the first page). */
  listErrors: IngestError[] = [];
  /** Fail when this page number (1-based) of the next list call is requested. */
  failOnPage?: { page: number; error: IngestError };
  startError?: IngestError;
  /** Errors for the listing after a start (e.g. AF20023 again). */
  onListAfterStart: IngestError[] = [];
  private startedSinceList = false;

  /** Unusable entries served on the first page of a window containing `at`. */
  readonly rejects: Array<{ stream: string; at: number; rejected: RejectedListing }> = [];

  addRejected(stream: StreamKey, at: number, rejected: RejectedListing): void {
    this.rejects.push({ stream: streamId(stream), at, rejected });
  }

  add(stream: StreamKey, contentId: string, contentCreated: number): void {
    this.blobs.push({
      stream: streamId(stream),
      contentType: stream.contentType,
      contentId,
      contentUri: `https://manage.office.com/api/v1.0/${stream.tenantId}/activity/feed/audit/${contentId}`,
      contentCreated: new Date(contentCreated).toISOString(),
      contentExpiration: new Date(contentCreated + 7 * 86_400_000).toISOString(),
    });
  }

  async startSubscription(stream: StreamKey) {
    this.starts.push(streamId(stream));
    if (this.startError) throw this.startError;
    this.startedSinceList = true;
    return { alreadyEnabled: false };
  }

  async *listContent(stream: StreamKey, window: TimeWindow) {
    this.lists.push({ stream: streamId(stream), window });
    if (this.startedSinceList && this.onListAfterStart.length > 0) {
      this.startedSinceList = false;
      throw this.onListAfterStart.shift()!;
    }
    this.startedSinceList = false;
    const error = this.listErrors.shift();
    if (error) throw error;
    const items = this.blobs.filter((b) => b.stream === streamId(stream) && Date.parse(b.contentCreated) >= window.start && Date.parse(b.contentCreated) < window.end);
    const failOnPage = this.failOnPage;
    this.failOnPage = undefined;
    const rejected = this.rejects.filter((r) => r.stream === streamId(stream) && r.at >= window.start && r.at < window.end).map((r) => r.rejected);
    for (let i = 0, page = 1; i < items.length || page === 1; i += this.pageSize, page++) {
      if (failOnPage?.page === page) throw failOnPage.error;
      yield { pageNumber: page, items: items.slice(i, i + this.pageSize), ...(page === 1 && rejected.length > 0 && { rejected }) };
      if (items.length === 0) break;
    }
  }
}

export class RecordingLogger implements Logger {
  readonly lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  debug(message: string, fields?: Record<string, unknown>) { this.lines.push({ level: 'debug', message, fields }); }
  info(message: string, fields?: Record<string, unknown>) { this.lines.push({ level: 'info', message, fields }); }
  warn(message: string, fields?: Record<string, unknown>) { this.lines.push({ level: 'warn', message, fields }); }
  error(message: string, fields?: Record<string, unknown>) { this.lines.push({ level: 'error', message, fields }); }
}

export class RecordingMetrics implements Metrics {
  readonly counts: Array<{ name: string; value: number; dimensions?: Readonly<Record<string, string>> }> = [];
  count(name: string, value: number, dimensions?: Readonly<Record<string, string>>) {
    this.counts.push({ name, value, dimensions });
  }
  total(name: string): number {
    return this.counts.filter((c) => c.name === name).reduce((s, c) => s + c.value, 0);
  }
}

export const af = (code: 'SubscriptionMissing' | 'SubscriptionDisabled', afCode: string) => new PermanentError(code, `${afCode} test`, { afCode });

/** A sink that keeps what the "hub" acknowledged; it can fail a given send. */
export class MemorySink implements EventSink {
  readonly published: Array<OutgoingEvent & { partitionKey?: string }> = [];
  batchSize = 4;
  /** Fail the n-th batch send (1-based, counted over the sink's life). */
  failOnSend?: number;
  private sends = 0;

  open(options: { partitionKey?: string }): EventPublication {
    const pending: OutgoingEvent[] = [];
    let acknowledged = 0;
    const send = async () => {
      this.sends++;
      if (this.failOnSend === this.sends) throw new TransientError('SinkUnavailable', 'hub busy (test)');
      this.published.push(...pending.map((e) => ({ ...e, partitionKey: options.partitionKey })));
      acknowledged += pending.length;
      pending.length = 0;
    };
    const batchSize = () => this.batchSize;
    return {
      async add(event) {
        pending.push(event);
        if (pending.length >= batchSize()) await send();
      },
      async flush() {
        if (pending.length > 0) await send();
      },
      get acknowledged() {
        return acknowledged;
      },
    };
  }
}

export class MemoryBlobStore implements BlobStore {
  readonly blobs = new Map<string, string>();
  async put(container: string, name: string, content: string | AsyncIterable<Uint8Array>): Promise<string> {
    let text = '';
    if (typeof content === 'string') text = content;
    else for await (const chunk of content) text += Buffer.from(chunk).toString('utf8');
    this.blobs.set(`${container}/${name}`, text);
    return `https://blobs.test/${container}/${name}`;
  }
}

/** Serves blob bodies by URI in small chunks; can break off mid-body or fail with an error. */
export class MemoryContentSource implements ContentSource {
  readonly bodies = new Map<string, string>();
  readonly downloads: string[] = [];
  errors = new Map<string, IngestError>();
  /** Break the download of this URI after this many bytes (once). */
  breakAfter?: { uri: string; bytes: number };
  chunkSize = 7;

  async download(_tenantId: string, contentUri: string) {
    this.downloads.push(contentUri);
    const error = this.errors.get(contentUri);
    if (error) throw error;
    const body = this.bodies.get(contentUri);
    if (body === undefined) throw new PermanentError('ContentMissing', 'AF20050 test', { afCode: 'AF20050' });
    const bytes = Buffer.from(body, 'utf8');
    const cut = this.breakAfter?.uri === contentUri ? this.breakAfter.bytes : undefined;
    if (cut !== undefined) this.breakAfter = undefined;
    const chunkSize = this.chunkSize;
    return {
      body: (async function* () {
        for (let i = 0; i < bytes.length; i += chunkSize) {
          if (cut !== undefined && i >= cut) throw new TransientError('Network', 'ECONNRESET (test)');
          yield bytes.subarray(i, i + chunkSize);
        }
      })(),
      contentLength: bytes.length,
    };
  }
}

export class MemoryHealthStore implements HealthStore {
  readonly rows = new Map<string, StreamHealth>();
  async write(stream: AnyStreamKey, health: StreamHealth): Promise<void> {
    this.rows.set(streamId(stream), health);
  }
  async readAll(): Promise<StreamHealth[]> {
    return [...this.rows.values()];
  }
}

/**
 * Microsoft Graph security over lists of entities per stream: `lastUpdateDateTime ge since` (exact,
 * 7-digit fractions), oldest first, in pages; entities without a timestamp come last on every scan.
 * It can fail a page of the next scan, and records every scan's `since`.
 */
export class ScriptedSecurityFeed implements SecurityFeed {
  readonly entities = new Map<string, unknown[]>();
  readonly scans: Array<{ stream: string; since: string }> = [];
  pageSize = 3;
  /** Fail when this page number (1-based) of the next scan is requested. */
  failOnPage?: { page: number; error: IngestError };
  /** Called as each page is served (tests move the clock with it). */
  onPage?: (page: SecurityPage) => void;

  add(stream: SecurityStreamKey, ...entities: unknown[]): void {
    const id = streamId(stream);
    this.entities.set(id, [...(this.entities.get(id) ?? []), ...entities]);
  }

  async *listUpdated(stream: SecurityStreamKey, since: string): AsyncIterable<SecurityPage> {
    const id = streamId(stream);
    this.scans.push({ stream: id, since });
    const timeOf = (e: unknown) => (e as { lastUpdateDateTime?: unknown } | null)?.lastUpdateDateTime;
    const keyOf = (e: unknown) => (typeof timeOf(e) === 'string' ? exactKey(timeOf(e) as string) : undefined);
    const from = exactKey(since);
    const items = (this.entities.get(id) ?? [])
      .filter((e) => keyOf(e) === undefined || keyOf(e)! >= from)
      .sort((a, b) => (keyOf(a) ?? '~').localeCompare(keyOf(b) ?? '~'));
    const failOnPage = this.failOnPage;
    this.failOnPage = undefined;
    for (let i = 0, page = 1; i < items.length || page === 1; i += this.pageSize, page++) {
      if (failOnPage?.page === page) throw failOnPage.error;
      const served: SecurityPage = { pageNumber: page, items: items.slice(i, i + this.pageSize), url: `https://graph.test/v1.0/security/${stream.contentType}?page=${page}` };
      this.onPage?.(served);
      yield served;
      if (items.length === 0) break;
    }
  }
}

/** `2026-11-20T10:00:00.1234567Z` as a string that sorts by instant (Z timestamps only). */
function exactKey(time: string): string {
  const [seconds, fraction = ''] = time.replace(/Z$/, '').split('.');
  return `${seconds}.${fraction.padEnd(9, '0')}`;
}

/** The in-memory cursors, ledger, sink and blobs, with `clock` and a recording logger and metrics: what every use case under test depends on. */
export function memoryDeps(clock: ManualClock) {
  return {
    cursors: new MemoryCursorStore(),
    ledger: new MemoryLedger(),
    sink: new MemorySink(),
    blobs: new MemoryBlobStore(),
    clock,
    logger: new RecordingLogger(),
    metrics: new RecordingMetrics(),
  };
}
