import {
  auditRecordOf,
  auditSearchAvailability,
  contentTypeOfRecordType,
  expectedRecords,
  healRangeOf,
  healSourceContentId,
  planHeal,
  recordTypeFiltersOf,
  splitRange,
  SUSPICIOUS_EXPECTED_RECORDS,
  suspiciousReason,
} from '../core/auditSearch.js';
import type { CloudName } from '../core/clouds.js';
import { describeError, IngestError } from '../core/errors.js';
import { isContentType, type PartitionKeyMode, type StreamKey, type TimeWindow } from '../core/model.js';
import type { EventProfile, NormalizeContext, NormalizedEvent } from '../core/normalize/event.js';
import { normalizeRecord } from '../core/normalize/normalizeRecord.js';
import { partitionKeyFor } from '../core/partitionKey.js';
import { pipelineHealEvent, type PipelineHealEvent } from '../core/pipelineEvent.js';
import { HOUR_MS } from '../core/windows.js';
import type { AuditSearch, BlobStore, Clock, CursorStore, EventSink, GapStore, Ledger, Logger, Metrics } from '../ports.js';
import type { GapHeal, GapRecord, HealQuery, HealState } from '../core/gaps.js';
import type { AuditLogQueryInfo, OutgoingEvent } from '../core/io.js';
import { bodyWithinBudget, eventProperties, publishPipelineEvent, safeName } from './common/hubEvents.js';
import { RunBudget } from './common/streamRun.js';

/**
 * Healing gaps from Microsoft Purview audit search: for each gap record (time the Management API can no
 * longer list), find the record time nothing else delivered, submit audit log queries for it within the
 * tenant's budgets, poll them with backoff, split a query that hit its record-count limit, page the
 * records of the others (resuming at the last published page after a failure), normalize each record
 * with the same normalizer and publish it to the hub, and write the outcome on the gap record. The
 * state lives on the gap record, so a run that ends (deadline, crash) is continued by the next one.
 */

export interface HealGapsDependencies {
  readonly gaps: GapStore;
  readonly ledger: Ledger;
  readonly cursors: CursorStore;
  readonly auditSearch: AuditSearch;
  readonly sink: EventSink;
  readonly blobs: BlobStore;
  /** The configured tenants' clouds (the API exists in some only). */
  readonly tenants: ReadonlyMap<string, { readonly cloud: CloudName }>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface HealGapsOptions {
  /** `HEAL_GAPS`: heal gaps discovery recorded. Gaps an operator asked for are healed either way. */
  readonly automatic: boolean;
  readonly lookbehindInMs: number;
  /** Submissions per tenant in any 24 h, and queries queued or running per tenant at once. */
  readonly queriesPerDay: number;
  readonly maxRunningQueries: number;
  readonly maxEventBytes: number;
  readonly partitionKeyMode: PartitionKeyMode;
  /** EVENT_PROFILE, as for content blobs: `full` (default) or `compact`. */
  readonly eventProfile?: EventProfile;
  /** Epoch ms after which no further poll waits or pages start; the next run continues. */
  readonly deadlineAtMs: number;
  /** First and longest wait between polls of running queries. Defaults 5 s and 60 s. */
  readonly pollInitialInMs?: number;
  readonly pollMaxInMs?: number;
  /** Submissions of one range before it is given up. Default 3. */
  readonly maxAttempts?: number;
  readonly abortSignal?: AbortSignal;
}

/** The heal options from the configuration's values (`Config.heal` and `Config.ingest`), for a run ending at `deadlineAtMs`. */
export function healOptionsOf(
  settings: {
    readonly heal: { readonly enabled: boolean; readonly lookbehindHours: number; readonly queriesPerDay: number; readonly maxRunningQueries: number };
    readonly ingest: { readonly maxEventBytes: number; readonly partitionKeyMode: PartitionKeyMode; readonly eventProfile?: EventProfile };
  },
  deadlineAtMs: number,
): HealGapsOptions {
  return {
    automatic: settings.heal.enabled,
    lookbehindInMs: settings.heal.lookbehindHours * HOUR_MS,
    queriesPerDay: settings.heal.queriesPerDay,
    maxRunningQueries: settings.heal.maxRunningQueries,
    maxEventBytes: settings.ingest.maxEventBytes,
    partitionKeyMode: settings.ingest.partitionKeyMode,
    eventProfile: settings.ingest.eventProfile,
    deadlineAtMs,
  };
}

const FINAL: ReadonlySet<HealState> = new Set(['healed', 'partial', 'suspicious', 'unavailable', 'failed', 'off']);
const SUBMITTED: ReadonlySet<string> = new Set(['notStarted', 'running']);
/** Query states that end a range: it contributes nothing more (delivered, replaced by halves, or given up). */
const SETTLED: ReadonlySet<string> = new Set(['delivered', 'split', 'abandoned', 'limited']);
const DAY_MS = 24 * HOUR_MS;
/** Ledger statuses of blobs whose records never reached the hub. */
const LOST: ReadonlySet<string> = new Set(['expired', 'missing', 'failed', 'poisoned']);

/**
 * One pass of healing (the timer): every gap that is not final nor provisional is advanced — planned,
 * submitted, polled with backoff until `deadlineAtMs`, paged and concluded. Returns the gap records as left.
 */
export async function healGaps(deps: HealGapsDependencies, options: HealGapsOptions, select: (gap: GapRecord) => boolean = () => true): Promise<GapRecord[]> {
  const all = await deps.gaps.listAll(options);
  const budgets = new Budgets(all, deps.clock.now(), options);
  const time = new RunBudget(deps.clock, options);
  // Gaps of tenants no longer configured are left as they are.
  const work = all.filter((g) => isContentType(g.contentType) && deps.tenants.has(g.tenantId) && select(g)).map((g) => new GapHealing(g, all, budgets, time, deps, options));
  for (const w of work) await w.begin();
  let wait = options.pollInitialInMs ?? 5000;
  for (;;) {
    let progressed = false;
    for (const w of work) if (w.active) progressed = (await w.step()) || progressed;
    if (!work.some((w) => w.active) || options.abortSignal?.aborted) break;
    if (progressed) {
      wait = options.pollInitialInMs ?? 5000;
      continue;
    }
    if (time.cannotWait(wait)) break;
    await deps.sleep(wait, options.abortSignal);
    wait = Math.min(wait * 2, options.pollMaxInMs ?? 60_000);
  }
  for (const w of work) if (w.active) await w.pause();
  return work.map((w) => w.gap);
}

/**
 * An operator's heal of record time `window` on one stream (`ops heal`): recorded as an `operator` gap,
 * then healed like any gap, whatever `HEAL_GAPS` says. A gap that already starts there is healed again
 * instead (its delivered queries are kept, so only what is still missing is queried). Record time the
 * Management API delivered, or that an earlier heal published, is not queried: such a range delivers
 * nothing new.
 */
export async function healRange(stream: StreamKey, window: TimeWindow, deps: HealGapsDependencies, options: HealGapsOptions): Promise<GapRecord> {
  const start = new Date(window.start).toISOString();
  const now = deps.clock.now();
  const existing = (await deps.gaps.list(stream, options)).find((g) => g.start === start);
  const end = new Date(window.end).toISOString();
  if (existing && existing.cause !== 'operator') {
    // A gap discovery recorded: heal it again unless it is healed (its row is discovery's; only the heal changes).
    if (existing.heal?.state !== 'healed') await deps.gaps.updateHeal(stream, start, restartHeal(existing.heal, now), options);
  } else {
    const heal = restartHeal(existing?.end === end ? existing.heal : undefined, now);
    await deps.gaps.record({ tenantId: stream.tenantId, contentType: stream.contentType, start, end, cause: 'operator', recordedAt: new Date(now).toISOString(), heal }, options);
  }
  const [result] = await healGaps(deps, { ...options, automatic: true }, (g) => g.tenantId === stream.tenantId && g.contentType === stream.contentType && g.start === start);
  if (!result) throw new Error(`the gap at ${start} of ${stream.tenantId} ${stream.contentType} disappeared`);
  return result;
}

/** A heal to run again: its delivered queries stay (they are healed record time), the rest is planned anew. */
function restartHeal(heal: GapHeal | undefined, now: number): GapHeal {
  const kept = (heal?.queries ?? []).filter((q) => q.state === 'delivered');
  return {
    state: 'pending',
    updatedAt: new Date(now).toISOString(),
    queries: kept,
    recordsFound: kept.reduce((n, q) => n + (q.records ?? 0), 0),
    recordsDelivered: kept.reduce((n, q) => n + (q.delivered ?? 0), 0),
  };
}

/** The tenants' query budgets: submissions in the last 24 h and queries still queued or running. */
class Budgets {
  private readonly submitted = new Map<string, number[]>();
  private readonly running = new Map<string, number>();
  /** Until when Graph asked a tenant's submissions to wait (a 429 whose Retry-After is too long to sleep in-process). */
  private readonly retryAt = new Map<string, number>();

  constructor(
    gaps: readonly GapRecord[],
    now: number,
    private readonly options: HealGapsOptions,
  ) {
    for (const gap of gaps) {
      for (const q of gap.heal?.queries ?? []) {
        const at = q.submittedAt ? Date.parse(q.submittedAt) : NaN;
        if (at > now - DAY_MS) this.times(gap.tenantId).push(at);
        if (SUBMITTED.has(q.state)) this.running.set(gap.tenantId, (this.running.get(gap.tenantId) ?? 0) + 1);
      }
    }
  }

  /** Why a submission must wait, or undefined when it may go now. */
  blocked(tenantId: string, now: number): string | undefined {
    const retryAt = this.retryAt.get(tenantId);
    if (retryAt !== undefined && now < retryAt) return `waiting: Microsoft Graph throttled audit log query submissions for this tenant (HTTP 429) until ${new Date(retryAt).toISOString()} (its Retry-After)`;
    const recent = this.times(tenantId).filter((t) => t > now - DAY_MS);
    if (recent.length >= this.options.queriesPerDay) {
      const free = new Date(Math.min(...recent) + DAY_MS).toISOString();
      return `waiting for the query budget: ${recent.length} audit log queries submitted for this tenant in the last 24 hours (HEAL_QUERIES_PER_DAY=${this.options.queriesPerDay}); the next may go at ${free}`;
    }
    const running = this.running.get(tenantId) ?? 0;
    if (running >= this.options.maxRunningQueries) return `waiting: ${running} audit log queries of this tenant are queued or running (HEAL_MAX_RUNNING_QUERIES=${this.options.maxRunningQueries})`;
    return undefined;
  }

  noteSubmitted(tenantId: string, at: number): void {
    this.times(tenantId).push(at);
    this.running.set(tenantId, (this.running.get(tenantId) ?? 0) + 1);
  }

  throttled(tenantId: string, until: number): void {
    this.retryAt.set(tenantId, Math.max(until, this.retryAt.get(tenantId) ?? 0));
  }

  finished(tenantId: string): void {
    this.running.set(tenantId, Math.max(0, (this.running.get(tenantId) ?? 0) - 1));
  }

  private times(tenantId: string): number[] {
    let list = this.submitted.get(tenantId);
    if (!list) this.submitted.set(tenantId, (list = []));
    return list;
  }
}

type MutableQuery = { -readonly [K in keyof HealQuery]: HealQuery[K] };

/** One gap's heal, advanced step by step; every change is written to the gap record at once. */
class GapHealing {
  gap: GapRecord;
  active = false;
  private readonly stream: StreamKey;
  private queries: MutableQuery[];
  private state: HealState;
  private reason?: string;
  private splits: number;
  private range: TimeWindow;

  constructor(
    gap: GapRecord,
    private readonly allGaps: readonly GapRecord[],
    private readonly budgets: Budgets,
    private readonly time: RunBudget,
    private readonly deps: HealGapsDependencies,
    private readonly options: HealGapsOptions,
  ) {
    this.gap = gap;
    this.stream = { tenantId: gap.tenantId, contentType: gap.contentType as StreamKey['contentType'] };
    this.queries = (gap.heal?.queries ?? []).map((q) => ({ ...q }));
    this.state = gap.heal?.state ?? 'pending';
    this.reason = gap.heal?.reason;
    this.splits = gap.heal?.splits ?? 0;
    this.range = healRangeOf(gap, options.lookbehindInMs);
  }

  private get fields() {
    return { tenantId: this.stream.tenantId, contentType: this.stream.contentType, gapStart: this.gap.start, gapEnd: this.gap.end };
  }

  /** Decides whether this gap is worked on in this run, and plans it when it has not been yet. */
  async begin(): Promise<void> {
    const gap = this.gap;
    const reopen = this.state === 'off' && (this.options.automatic || gap.cause === 'operator');
    if (FINAL.has(this.state) && !reopen) return;
    if (gap.provisional) {
      this.deps.logger.debug('gap is provisional; healing waits until it is final', this.fields);
      return;
    }
    if (Number.isNaN(this.range.start) || Number.isNaN(this.range.end) || this.range.end <= this.range.start) {
      return this.conclude('failed', `the gap's range ${gap.start} to ${gap.end} is not a time range`);
    }
    if (this.state === 'running') {
      this.active = true;
      return;
    }
    if (!this.options.automatic && gap.cause !== 'operator') {
      if (this.state !== 'off') await this.conclude('off', 'HEAL_GAPS is false: this gap is not healed automatically; run npm run ops -- heal for its range');
      return;
    }
    const tenant = this.deps.tenants.get(gap.tenantId)!;
    const availability = auditSearchAvailability(tenant.cloud);
    if (!availability.available) return this.conclude('unavailable', availability.reason);
    await this.plan();
  }

  private async plan(): Promise<void> {
    const { deps, options, stream, range } = this;
    // The ledger around the range: blobs that ended without delivery, and (where the cursor row does not
    // say where listing started) the earliest blob listed, as evidence of how far back listing reaches.
    const [cursorRow, rows] = await Promise.all([
      deps.cursors.read(stream, options),
      collect(deps.ledger.query(stream, { createdFrom: iso(range.start - options.lookbehindInMs - HOUR_MS - DAY_MS), createdTo: iso(range.end + options.lookbehindInMs + HOUR_MS) }, options)),
    ]);
    const lostBlobs = rows.filter((e) => LOST.has(e.status)).map((e) => Date.parse(e.contentCreated));
    const earliest = rows.reduce((min, e) => Math.min(min, Date.parse(e.contentCreated)), Infinity);
    const streamGaps = this.allGaps.filter((g) => g.tenantId === stream.tenantId && g.contentType === stream.contentType);
    const healed = [...streamGaps.filter((g) => g.start !== this.gap.start).flatMap((g) => g.heal?.queries ?? []), ...this.queries]
      .filter((q) => q.state === 'delivered')
      .map((q) => ({ start: Date.parse(q.from), end: Date.parse(q.to) }));
    const state = cursorRow?.state;
    const plan = planHeal({
      range,
      lookbehindInMs: options.lookbehindInMs,
      listedFrom: state?.intendedStart ? Date.parse(state.intendedStart) : state?.cursor && Number.isFinite(earliest) ? earliest : undefined,
      listedTo: state?.cursor ? Date.parse(state.cursor) : undefined,
      gaps: streamGaps.filter((g) => g.cause !== 'operator').map((g) => ({ start: Date.parse(g.start), end: Date.parse(g.end) })),
      lostBlobs,
      healed,
    });
    for (const w of plan.missing) this.queries.push({ id: '', from: iso(w.start), to: iso(w.end), state: 'planned', attempt: 0 });
    const { covered, pending, healedBefore } = plan.hours;
    deps.logger.info('heal planned', { ...this.fields, from: iso(range.start), to: iso(range.end), queries: plan.missing.length, ...plan.hours });
    if (plan.missing.length === 0) {
      const what = [covered && `${covered} h delivered by the Management API`, healedBefore && `${healedBefore} h healed before`, pending && `${pending} h still to be listed by the Management API`].filter(Boolean).join(', ');
      return this.finish(`nothing missing in ${iso(range.start)} to ${iso(range.end)}${what ? ` (${what})` : ''}; no audit log query was needed`);
    }
    this.state = 'running';
    this.reason = undefined;
    this.active = true;
    await this.save();
  }

  /** Submits, polls and pages what it can now; true when anything moved. */
  async step(): Promise<boolean> {
    let progressed = false;
    try {
      progressed = (await this.submit()) || progressed;
      progressed = (await this.poll()) || progressed;
      for (const q of this.queries) {
        if (!this.active || this.time.pastDeadline()) break;
        if (q.state === 'succeeded') progressed = (await this.page(q)) || progressed;
      }
    } catch (err) {
      if (err instanceof IngestError && !err.retryable && err.code === 'PermissionMissing') {
        await this.conclude('failed', err.reason);
        return true;
      }
      // Transient trouble (throttling beyond the in-process retries, the hub, storage): the next pass retries.
      this.reason = describeError(err);
      this.deps.logger.warn('heal step failed; it is retried', { ...this.fields, error: this.reason });
      await this.save().catch(() => undefined);
      return false;
    }
    if (this.active && this.queries.every((q) => SETTLED.has(q.state))) {
      await this.finish();
      return true;
    }
    return progressed;
  }

  private async submit(): Promise<boolean> {
    const { deps, stream } = this;
    let progressed = false;
    for (const q of this.queries) {
      if (q.state !== 'planned') continue;
      const now = deps.clock.now();
      const blocked = this.budgets.blocked(stream.tenantId, now);
      if (blocked) {
        if (this.reason !== blocked) {
          this.reason = blocked;
          deps.logger.info('heal waits for the query budget', { ...this.fields, reason: blocked });
          await this.save();
        }
        return progressed;
      }
      let info: AuditLogQueryInfo;
      try {
        info = await deps.auditSearch.createQuery(
          stream.tenantId,
          { displayName: `m365-audit-ingest heal ${stream.contentType} ${q.from}`, from: q.from, to: q.to, recordTypeFilters: recordTypeFiltersOf(stream.contentType) },
          this.options,
        );
      } catch (err) {
        if (err instanceof IngestError && err.code === 'Throttled' && err.retryAfterInMs !== undefined) {
          // Longer than the client sleeps in-process: no submission for this tenant until then.
          this.budgets.throttled(stream.tenantId, now + err.retryAfterInMs);
          continue;
        }
        if (err instanceof IngestError && !err.retryable && err.code !== 'PermissionMissing') {
          // A refused query (Graph has answered 400 under load): count the attempt, try again later.
          this.retryOrAbandon(q, err.reason);
          await this.save();
          progressed = true;
          continue;
        }
        throw err;
      }
      this.budgets.noteSubmitted(stream.tenantId, now);
      Object.assign(q, { id: info.id, state: 'notStarted', submittedAt: iso(now), attempt: (q.attempt ?? 0) + 1 });
      deps.metrics.count('heal.queries.submitted', 1, { tenantId: stream.tenantId, contentType: stream.contentType });
      deps.logger.info('audit log query submitted', { ...this.fields, queryId: info.id, from: q.from, to: q.to, attempt: q.attempt });
      this.reason = undefined;
      this.apply(q, info);
      await this.save();
      progressed = true;
    }
    return progressed;
  }

  private async poll(): Promise<boolean> {
    const { deps, stream } = this;
    let progressed = false;
    for (const q of [...this.queries]) {
      if (!SUBMITTED.has(q.state)) continue;
      let info: AuditLogQueryInfo;
      try {
        info = await deps.auditSearch.getQuery(stream.tenantId, q.id, this.options);
      } catch (err) {
        if (err instanceof IngestError && !err.retryable && err.code !== 'PermissionMissing') {
          // The query is gone or unreadable (404): submit the range again.
          this.budgets.finished(stream.tenantId);
          this.retryOrAbandon(q, err.reason);
          await this.save();
          progressed = true;
          continue;
        }
        throw err;
      }
      if (info.status === q.state) continue;
      progressed = true;
      this.apply(q, info);
      await this.save();
    }
    return progressed;
  }

  /** Moves a submitted query on by the status Graph reports. */
  private apply(q: MutableQuery, info: AuditLogQueryInfo): void {
    if (info.status === 'notStarted' || info.status === 'running') {
      q.state = info.status;
      return;
    }
    this.budgets.finished(this.stream.tenantId);
    if (info.status === 'succeeded') {
      if (info.isRecordCountLimitExceeded) this.split(q, info);
      else q.state = 'succeeded';
    } else {
      // failed, cancelled, or a status added later that is not success.
      this.retryOrAbandon(q, `audit log query ${q.id} ended ${info.status}`);
    }
  }

  private split(q: MutableQuery, info: AuditLogQueryInfo): void {
    const halves = splitRange({ start: Date.parse(q.from), end: Date.parse(q.to) });
    const detail = `hit its record-count limit (${info.recordCountLimit ?? '?'}; about ${info.approximateReturnedRecordCount ?? '?'} records)`;
    if (!halves) {
      // Too short to split: publish what the service returns and report the range as incomplete.
      q.state = 'succeeded';
      q.limitExceeded = true;
      this.deps.logger.warn('audit log query hit its record-count limit and cannot be split further', { ...this.fields, queryId: q.id, from: q.from, to: q.to, detail });
      return;
    }
    q.state = 'split';
    this.splits++;
    const index = this.queries.indexOf(q);
    this.queries.splice(index + 1, 0, ...halves.map((h) => ({ id: '', from: iso(h.start), to: iso(h.end), state: 'planned', attempt: 0 })));
    this.deps.metrics.count('heal.splits', 1, { tenantId: this.stream.tenantId, contentType: this.stream.contentType });
    this.deps.logger.info('audit log query split', { ...this.fields, queryId: q.id, from: q.from, to: q.to, detail });
  }

  private retryOrAbandon(q: MutableQuery, why: string): void {
    const attempts = q.attempt ?? 0;
    if (attempts >= (this.options.maxAttempts ?? 3)) {
      q.state = 'abandoned';
      this.deps.logger.error('audit log query given up', { ...this.fields, queryId: q.id, from: q.from, to: q.to, attempts, reason: why });
    } else {
      this.deps.logger.warn('audit log query failed; submitting it again', { ...this.fields, queryId: q.id, from: q.from, to: q.to, attempts, reason: why });
      Object.assign(q, { state: 'planned', id: '', next: undefined, records: 0, delivered: 0, outOfScope: 0 });
      if (attempts === 0) q.attempt = 1;
    }
    this.reason = why;
  }

  /**
   * Publishes a succeeded query's records page by page, checkpointing the next link after each page the
   * hub acknowledged, until the last page (then `delivered`) or the deadline.
   */
  private async page(q: MutableQuery): Promise<boolean> {
    const { deps, options, stream } = this;
    const range = { start: Date.parse(q.from), end: Date.parse(q.to) };
    const sourceContentId = healSourceContentId(range);
    const context: NormalizeContext = { source: 'PurviewAuditSearch', tenantId: stream.tenantId, contentType: stream.contentType, contentId: sourceContentId, processedTime: iso(deps.clock.now()) };
    const partitionKey = partitionKeyFor(options.partitionKeyMode, stream.tenantId, sourceContentId);
    let restarted = false;
    for (;;) {
      try {
        for await (const page of deps.auditSearch.listRecords(stream.tenantId, q.id, { ...options, next: q.next })) {
          const publication = deps.sink.open({ partitionKey, abortSignal: options.abortSignal });
          let found = 0;
          let outOfScope = 0;
          for (const item of page.records) {
            const healed = auditRecordOf(item);
            if (healed && contentTypeOfRecordType(healed.recordType) !== stream.contentType) {
              outOfScope++;
              continue;
            }
            const record = healed?.record ?? item;
            const event = normalizeRecord(record, context, { profile: this.options.eventProfile });
            if (healed?.warning) event.ParseWarnings = [...(event.ParseWarnings ?? []), healed.warning];
            await publication.add(await this.outgoing(event, record, sourceContentId));
            found++;
          }
          await publication.flush();
          Object.assign(q, { records: (q.records ?? 0) + found, delivered: (q.delivered ?? 0) + publication.acknowledged, outOfScope: (q.outOfScope ?? 0) + outOfScope, next: page.next });
          deps.metrics.count('heal.records.delivered', publication.acknowledged, { tenantId: stream.tenantId, contentType: stream.contentType });
          if (page.next === undefined) {
            q.state = q.limitExceeded ? 'limited' : 'delivered';
            await this.save();
            deps.logger.info('audit log query delivered', { ...this.fields, queryId: q.id, from: q.from, to: q.to, records: q.records, delivered: q.delivered, outOfScope: q.outOfScope });
            return true;
          }
          await this.save();
          if (this.time.pastDeadline()) return true;
        }
        // A listing that ended without a last page (no pages at all): nothing more to read.
        q.state = 'delivered';
        await this.save();
        return true;
      } catch (err) {
        if (q.next !== undefined && !restarted && err instanceof IngestError && !err.retryable && err.code !== 'PermissionMissing' && err.code !== 'ForeignHost') {
          // The saved next link is no longer accepted: page the query again from its start (records sent
          // again keep their EventIds).
          deps.logger.warn('saved next link refused; paging the query from its first page', { ...this.fields, queryId: q.id, error: err.reason });
          Object.assign(q, { next: undefined, records: 0, delivered: 0, outOfScope: 0 });
          restarted = true;
          continue;
        }
        if (err instanceof IngestError && !err.retryable && err.code !== 'PermissionMissing') {
          this.retryOrAbandon(q, err.reason);
          await this.save();
          return true;
        }
        throw err;
      }
    }
  }

  private async outgoing(event: NormalizedEvent, record: unknown, sourceContentId: string): Promise<OutgoingEvent> {
    const body = await bodyWithinBudget(event, JSON.stringify(event), () => JSON.stringify(record), `${this.stream.tenantId}/${safeName(sourceContentId)}`, this.stream, this.deps, this.options);
    return { body, messageId: event.EventId, correlationId: sourceContentId, properties: eventProperties(event) };
  }

  /** Every range settled (or none was needed): healed, partial, suspicious or failed. */
  private async finish(nothingMissing?: string): Promise<void> {
    const leaves = this.queries.filter((q) => q.state !== 'split');
    const abandoned = leaves.filter((q) => q.state === 'abandoned');
    const limited = leaves.filter((q) => q.state === 'limited');
    const found = leaves.reduce((n, q) => n + (q.records ?? 0), 0);
    if (leaves.length > 0 && abandoned.length === leaves.length) return this.conclude('failed', `every audit log query failed: ${this.reason ?? 'see the log'}`);
    if (abandoned.length > 0 || limited.length > 0) {
      const ranges = [...abandoned, ...limited].map((q) => `${q.from} to ${q.to} (${q.state === 'limited' ? 'record-count limit' : 'failed'})`).join('; ');
      return this.conclude('partial', `not healed: ${ranges}`);
    }
    const queried = leaves.reduce((ms, q) => (q.state === 'delivered' && q.submittedAt ? ms + Date.parse(q.to) - Date.parse(q.from) : ms), 0);
    if (found === 0 && queried > 0) {
      const around = await this.ledgerAround();
      const hours = queried / HOUR_MS;
      const expected = expectedRecords(around, hours);
      if (expected >= SUSPICIOUS_EXPECTED_RECORDS) return this.conclude('suspicious', suspiciousReason(this.stream.contentType, this.range, expected / hours));
    }
    return this.conclude('healed', nothingMissing ?? `${found} records healed from audit search over ${leaves.filter((q) => q.submittedAt).length} queries (${this.splits} splits)`);
  }

  /** Records and blobs of the stream in the 24 h of contentCreated on either side of the heal range, while it was listed. */
  private async ledgerAround(): Promise<{ records: number; blobs: number; hours: number }> {
    const { deps, stream, options, range } = this;
    const cursor = (await deps.cursors.read(stream, options))?.state;
    const from = cursor?.intendedStart ? Date.parse(cursor.intendedStart) : -Infinity;
    const to = Math.min(cursor?.cursor ? Date.parse(cursor.cursor) : deps.clock.now(), deps.clock.now());
    const windows = [
      { start: Math.max(from, range.start - DAY_MS), end: Math.min(to, range.start) },
      { start: Math.max(from, this.gapEnd()), end: Math.min(to, this.gapEnd() + DAY_MS) },
    ].filter((w) => w.end > w.start);
    let records = 0;
    let blobs = 0;
    let ms = 0;
    for (const w of windows) {
      ms += w.end - w.start;
      for await (const row of deps.ledger.query(stream, { createdFrom: iso(w.start), createdTo: iso(w.end) }, options)) {
        blobs++;
        if (row.status === 'done') records += row.records ?? 0;
      }
    }
    return { records, blobs, hours: ms / HOUR_MS };
  }

  private gapEnd(): number {
    return Date.parse(this.gap.end);
  }

  /** Ends the heal in a final state: the gap record, a log line, a metric and the in-band heal event. */
  private async conclude(state: Exclude<HealState, 'pending' | 'running'>, reason: string): Promise<void> {
    const { deps, stream } = this;
    this.state = state;
    this.reason = reason;
    this.active = false;
    const heal = await this.save();
    const fields = { ...this.fields, state, queries: heal.queries.length, splits: heal.splits, recordsFound: heal.recordsFound, recordsDelivered: heal.recordsDelivered, reason };
    if (state === 'healed') deps.logger.info('gap healed', fields);
    else if (state === 'failed' || state === 'unavailable') deps.logger.error('gap not healed', fields);
    else deps.logger.warn('gap not healed', fields);
    deps.metrics.count(`heal.${state}`, 1, { tenantId: stream.tenantId, contentType: stream.contentType });
    await this.publishEvent(
      pipelineHealEvent({
        tenantId: stream.tenantId,
        contentType: stream.contentType,
        gap: this.gap,
        state,
        from: heal.from,
        to: heal.to,
        queries: heal.queries.filter((q) => q.submittedAt).length,
        splits: heal.splits ?? 0,
        recordsFound: heal.recordsFound,
        recordsDelivered: heal.recordsDelivered,
        reason,
        now: deps.clock.now(),
      }),
    );
  }

  /** The run ends with this heal still going: keep its state for the next run. */
  async pause(): Promise<void> {
    await this.save().catch((err: unknown) => this.deps.logger.warn('could not save the heal state', { ...this.fields, error: describeError(err) }));
  }

  private async save(): Promise<GapHeal> {
    const heal: GapHeal = {
      state: this.state,
      updatedAt: iso(this.deps.clock.now()),
      queries: this.queries.map((q) => Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)) as unknown as HealQuery),
      recordsFound: this.queries.reduce((n, q) => n + (q.state === 'split' ? 0 : (q.records ?? 0)), 0),
      recordsDelivered: this.queries.reduce((n, q) => n + (q.state === 'split' ? 0 : (q.delivered ?? 0)), 0),
      ...(this.reason ? { reason: this.reason } : {}),
      from: iso(this.range.start),
      to: iso(this.range.end),
      splits: this.splits,
    };
    this.gap = { ...this.gap, heal };
    const exists = await this.deps.gaps.updateHeal(this.stream, this.gap.start, heal, this.options);
    if (!exists) {
      this.active = false;
      this.deps.logger.warn('gap record disappeared while it was being healed', this.fields);
    }
    return heal;
  }

  private async publishEvent(event: PipelineHealEvent): Promise<void> {
    await publishPipelineEvent(event, this.deps, { message: 'could not publish the heal event; the gap record still shows the outcome', fields: this.fields });
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
