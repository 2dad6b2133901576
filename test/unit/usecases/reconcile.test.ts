import { describe, expect, it } from 'vitest';
import { hourOf } from '../../../shared/core/invariant.js';
import type { StreamKey } from '../../../shared/core/model.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import type { LedgerEntry, ListingFact } from '../../../shared/core/ledger.js';
import { reconcile, type ReconcileOptions } from '../../../shared/usecases/reconcile.js';
import { ManualClock, MemoryCursorStore, MemoryHealthStore, MemoryLedger, MemoryQueue, reconcileStores, RecordingLogger, RecordingMetrics } from '../../fakes/ports.js';

const stream: StreamKey = { tenantId: '66666666-6666-4666-8666-666666666666', contentType: 'Audit.SharePoint' };
const now = Date.parse('2026-11-24T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function row(contentId: string, patch: Partial<LedgerEntry>): LedgerEntry {
  return {
    ...stream,
    contentId,
    contentUri: `https://manage.office.com/api/v1.0/${stream.tenantId}/activity/feed/audit/${contentId}`,
    contentCreated: iso(now - 3 * HOUR_MS),
    contentExpiration: iso(now + 6 * DAY_MS),
    listedAt: iso(now - 2 * HOUR_MS),
    status: 'listed',
    ...patch,
  };
}

function setup(clockAt = now) {
  const deps = { ledger: new MemoryLedger(), cursors: new MemoryCursorStore(), queue: new MemoryQueue(), health: new MemoryHealthStore(), ...reconcileStores(), clock: new ManualClock(clockAt), logger: new RecordingLogger(), metrics: new RecordingMetrics() };
  const healthyCursor = async () => {
    const current = await deps.cursors.read(stream);
    await deps.cursors.write(stream, { subscription: 'enabled', consecutiveFailures: 0, gapCount: 0, gapTotalMs: 0, cursor: iso(deps.clock.now() - 10 * MINUTE_MS), lastSuccessAt: iso(deps.clock.now()) }, current?.etag);
  };
  /** What discovery and delivery leave behind for a blob delivered in full: its listing fact and a done row. */
  const delivered = async (contentId: string, created: number, records = 10) => {
    const fact: ListingFact = { contentId, contentCreated: iso(created), listedAt: iso(created + 30 * MINUTE_MS), by: 'poll' };
    await deps.listings.record(stream, [fact]);
    await deps.ledger.insertIfAbsent([row(contentId, { contentCreated: iso(created), contentExpiration: iso(created + 7 * DAY_MS), listedAt: fact.listedAt, status: 'done', records, events: records, recordsQuarantined: 0 })]);
  };
  const run = async (options: ReconcileOptions = {}) => (await reconcile([stream], deps, options))[0]!;
  return { deps, healthyCursor, delivered, run };
}

describe('reconcile', () => {
  it('re-enqueues stuck blobs, leaves fresh ones alone, raises those near expiry, and writes the health row', async () => {
    const { deps, run, healthyCursor } = setup();
    await deps.ledger.insertIfAbsent([
      row('stuck', { enqueuedAt: iso(now - 2 * HOUR_MS) }),
      row('never-enqueued', { listedAt: iso(now - 30 * MINUTE_MS) }),
      row('being-listed', { listedAt: iso(now - 2 * MINUTE_MS) }), // a poller is between insert and enqueue
      row('in-flight', { enqueuedAt: iso(now - 5 * MINUTE_MS) }),
      row('expiring', { enqueuedAt: iso(now - 5 * MINUTE_MS), contentExpiration: iso(now + 3 * HOUR_MS) }),
      row('done', { status: 'done', contentCreated: iso(now - HOUR_MS), records: 4, events: 4 }),
      row('missing', { status: 'missing', lastError: 'AF20050' }),
    ]);
    await healthyCursor();

    const health = await run();
    expect(deps.queue.messages.map((m) => m.contentId).sort()).toEqual(['never-enqueued', 'stuck']);
    expect((await deps.ledger.get(stream, 'stuck'))?.enqueuedAt).toBe(iso(now));
    expect(deps.logger.lines.find((l) => l.level === 'error' && l.message === 'blobs not done expire within a day')?.fields).toMatchObject({ count: 1, blobs: ['expiring (listed)'] });
    // An undelivered blob a few hours from expiry is the alarm: failing, not merely degraded.
    expect(health).toMatchObject({ state: 'failing', stuck: 2, expiringSoon: 1, unexplained: 0, deliveryLagMinutes: 60, counts: { listed: 5, done: 1, missing: 1 } });
    expect(health.invariant).toMatchObject({ holds: true, ledger: 7, records: 4, events: 4 });
    for (const h of health.hours) expect(h.ledger).toBe(h.done + h.expired + h.missing + h.failed + h.poisoned + h.pending + h.unknown);
    expect(health.hours.reduce((s, h) => s + h.ledger, 0)).toBe(7);
    expect((await deps.health.readAll())[0]).toEqual(health);
    expect(deps.metrics.total('blobs.reenqueued')).toBe(2);
  });

  it('keeps going when one stream fails', async () => {
    const { deps } = setup();
    const broken: StreamKey = { tenantId: '77777777-7777-4777-8777-777777777777', contentType: 'DLP.All' };
    const realRead = deps.cursors.read.bind(deps.cursors);
    deps.cursors.read = async (s) => {
      if (s.tenantId === broken.tenantId) throw new Error('table unavailable');
      return realRead(s);
    };
    const results = await reconcile([broken, stream], deps);
    expect(results.map((h) => h.tenantId)).toEqual([stream.tenantId]);
    expect(deps.logger.lines.some((l) => l.level === 'error' && l.message === 'reconcile failed for a stream')).toBe(true);
  });
});

describe('the completeness invariant', () => {
  async function healthyRun() {
    const s = setup();
    for (let i = 0; i < 12; i++) await s.delivered(`blob-${i}`, now - (6 - i / 2) * HOUR_MS);
    await s.healthyCursor();
    return s;
  }

  it('holds on a healthy run: every listed blob in the ledger, every done row accounting for its records', async () => {
    const { run } = await healthyRun();
    const health = await run();
    expect(health).toMatchObject({ state: 'ok', reasons: [] });
    expect(health.invariant).toMatchObject({ holds: true, violations: 0, listed: 12, ledger: 12, records: 120, events: 120, quarantined: 0 });
    const busy = health.hours.filter((h) => h.ledger > 0);
    expect(busy).toHaveLength(6);
    for (const h of busy) expect(h).toMatchObject({ listed: 2, ledger: 2, done: 2, holds: true });
  });

  it('fails on a ledger row deleted by hand, and names it', async () => {
    const { deps, run } = await healthyRun();
    expect((await run()).state).toBe('ok');
    await deps.ledger.forget(stream, ['blob-5']);
    const health = await run();
    expect(health.state).toBe('failing');
    expect(health.invariant).toMatchObject({ holds: false, violations: 1, byProblem: { notInLedger: 1 }, violatingHours: [hourOf(now - 3.5 * HOUR_MS)] });
    expect(health.invariant.examples).toMatchObject([{ contentId: 'blob-5', problem: 'notInLedger' }]);
    expect(health.reasons[0]).toBe('completeness invariant violated: 1 blobs (1 listed but not in the ledger)');
    expect(health.hours.find((h) => h.hour === hourOf(now - 3.5 * HOUR_MS))).toMatchObject({ listed: 2, ledger: 1, notInLedger: 1, holds: false });
    const line = deps.logger.lines.find((l) => l.level === 'error' && l.message === 'completeness invariant violated');
    expect(line?.fields).toMatchObject({ blobs: ['blob-5 (notInLedger)'] });
    expect(deps.metrics.counts.filter((c) => c.name === 'invariant.violations').at(-1)?.value).toBe(1);
  });

  it('fails on a blob the API lists that the ledger lacks, once the listing is older than the insert grace', async () => {
    const { deps, run } = await healthyRun();
    const created = now - 2 * HOUR_MS;
    await deps.listings.record(stream, [{ contentId: 'never-inserted', contentCreated: iso(created), listedAt: iso(now - 3 * MINUTE_MS), by: 'sweep' }]);
    // A poll may be between its fact write and its ledger insert: not yet a violation.
    const early = await run();
    expect(early).toMatchObject({ state: 'ok', invariant: { holds: true } });
    expect(early.hours.find((h) => h.hour === hourOf(created))).toMatchObject({ awaitingInsert: 1 });

    deps.clock.advance(20 * MINUTE_MS);
    const late = await run();
    expect(late.state).toBe('failing');
    expect(late.invariant.examples).toMatchObject([{ contentId: 'never-inserted', problem: 'notInLedger', hour: hourOf(created) }]);
  });

  it('fails on a done row whose acknowledged events fall short of its records', async () => {
    const { deps, run } = await healthyRun();
    await deps.ledger.update(stream, 'blob-3', { records: 40, events: 20 });
    const health = await run();
    expect(health.state).toBe('failing');
    expect(health.invariant).toMatchObject({ byProblem: { countMismatch: 1 }, records: 150, events: 130 });
    expect(health.invariant.examples).toEqual([{ hour: hourOf(now - 4.5 * HOUR_MS), contentId: 'blob-3', problem: 'countMismatch', detail: 'records 40 ≠ events 20 + quarantined 0' }]);
    // Records kept in quarantine instead of published are accounted for.
    await deps.ledger.update(stream, 'blob-3', { recordsQuarantined: 20 });
    expect((await run()).invariant.holds).toBe(true);
  });

  it('fails on a row still pending after its content expired; older hours are counted again when their pending rows change', async () => {
    const { deps, run, delivered } = await healthyRun();
    const created = now - 7 * DAY_MS - 2 * HOUR_MS;
    await delivered('old-done', created);
    await deps.ledger.insertIfAbsent([row('old-pending', { contentCreated: iso(created), contentExpiration: iso(created + 7 * DAY_MS - 5 * MINUTE_MS), enqueuedAt: iso(now - 5 * MINUTE_MS) })]);
    await deps.listings.record(stream, [{ contentId: 'old-pending', contentCreated: iso(created), listedAt: iso(created + 30 * MINUTE_MS), by: 'poll' }]);
    const first = await run();
    expect(first.invariant.examples).toMatchObject([{ contentId: 'old-pending', problem: 'pastHorizon' }]);
    // Delivery ends it (the worker records it expired): the hour is counted again at once, not on its turn.
    await deps.ledger.update(stream, 'old-pending', { status: 'expired', lastError: 'AF20051' });
    const second = await run({ recountHours: 1 });
    expect(second.invariant.holds).toBe(true);
  });

  it('finds a row deleted by hand days back (outside the recent range) within one rotation of re-counts', async () => {
    const { deps, run, delivered, healthyCursor } = setup();
    for (let h = 1; h < 6 * 24; h += 5) await delivered(`day-blob-${h}`, now - h * HOUR_MS);
    await healthyCursor();
    expect((await run()).invariant).toMatchObject({ holds: true, ledger: 29 });
    await deps.ledger.forget(stream, ['day-blob-101']); // 101 hours back: summarized, outside the 48-hour range
    const states: boolean[] = [];
    for (let i = 0; i < 12; i++) {
      deps.clock.advance(15 * MINUTE_MS);
      await healthyCursor();
      states.push((await run()).invariant.holds);
    }
    expect(states).toContain(false);
    const last = await run();
    expect(last.invariant.examples).toMatchObject([{ contentId: 'day-blob-101', problem: 'notInLedger' }]);
  });
});

describe('health from discovery and delivery reports', () => {
  it('a stream whose cursor discovery reports invalid, or that does not parse, is failing', async () => {
    const { deps, run } = setup();
    await deps.cursors.write(stream, { subscription: 'enabled', consecutiveFailures: 1, gapCount: 0, gapTotalMs: 0, cursor: 'garbage', lastSuccessAt: iso(now - HOUR_MS), lastErrorCode: 'InvalidCursor', lastError: 'cursor "garbage" is not a time' }, undefined);
    const health = await run();
    expect(health).toMatchObject({ state: 'failing', cursor: 'garbage', listingLagMinutes: undefined });
    expect(health.reasons).toContain('cursor invalid (cursor "garbage" is not a time)');
  });

  it('shows the sweeps\' finds and lateness (max and p95 over 24 h) and the gaps with their healing', async () => {
    const { deps, run, healthyCursor } = setup();
    await healthyCursor();
    await deps.sweeps.write(stream, {
      lastSweepAt: iso(now - 10 * MINUTE_MS), lastOutcome: 'complete', windows: 8, blobsListed: 400, blobsFound: 2, apiCalls: 12, tableOps: 8, durationMs: 900,
      lateness: [[now - HOUR_MS, 6 * HOUR_MS], [now - 2 * HOUR_MS, 150 * MINUTE_MS], [now - 30 * HOUR_MS, 20 * HOUR_MS]],
    });
    await deps.gaps.record({ ...stream, start: iso(now - 10 * DAY_MS), end: iso(now - 7 * DAY_MS), cause: 'retention', recordedAt: iso(now - 7 * DAY_MS), heal: { state: 'running', updatedAt: iso(now), queries: [], recordsFound: 0, recordsDelivered: 0 } });
    const health = await run();
    expect(health.sweep).toEqual({ lastSweepAt: iso(now - 10 * MINUTE_MS), lastOutcome: 'complete', lastError: undefined, found24h: 2, latenessMaxMinutes: 360, latenessP95Minutes: 360 });
    expect(health.gaps).toEqual([{ start: iso(now - 10 * DAY_MS), end: iso(now - 7 * DAY_MS), cause: 'retention', provisional: undefined, heal: 'running' }]);
    expect(health).toMatchObject({ state: 'degraded', reasons: ['1 gaps not healed (72 h the API could not list: retention)'] });
    expect(deps.metrics.total('sweep.lateness.max.minutes')).toBe(360);
  });

  it('raises the alarm for a failed or poisoned blob not done within 24 h of its expiry', async () => {
    const { deps, run, healthyCursor } = setup();
    await healthyCursor();
    const created = now - 6 * DAY_MS - 14 * HOUR_MS;
    await deps.ledger.insertIfAbsent([row('bad-json', { status: 'failed', lastError: 'not a JSON array', contentCreated: iso(created), contentExpiration: iso(created + 7 * DAY_MS) })]);
    const health = await run();
    expect(health).toMatchObject({ state: 'failing', expiringSoon: 1 });
    expect(deps.logger.lines.find((l) => l.message === 'blobs not done expire within a day')?.fields).toMatchObject({ blobs: ['bad-json (failed)'] });
  });
});

describe('bounded state: hour summaries and ledger retention', () => {
  /** One delivered blob an hour for `days` days back; one listed blob of an hour 35 days back lost its row. */
  async function history(days: number) {
    const s = setup();
    for (let h = 1; h <= days * 24; h++) await s.delivered(`b-${h}`, now - h * HOUR_MS + 5 * MINUTE_MS, 3);
    await s.healthyCursor();
    return s;
  }
  /** Runs reconcile a minute apart until every final hour is summarized and retention has caught up (an upgrade's first runs). */
  async function catchUp(s: Awaited<ReturnType<typeof history>>) {
    let health = await s.run();
    for (let i = 0; i < 30; i++) {
      const progress = await s.deps.summaries.progress(stream);
      if (progress.finalizedThrough === hourOf(s.deps.clock.now() - 8 * DAY_MS) && rowsOlderThan(s.deps, s.deps.clock.now() - 30 * DAY_MS).length === 0) return { health, runs: i + 1 };
      s.deps.clock.advance(MINUTE_MS);
      await s.healthyCursor();
      health = await s.run();
    }
    throw new Error(`retention did not catch up in 30 runs: ${JSON.stringify(await s.deps.summaries.progress(stream))} ${rowsOlderThan(s.deps, s.deps.clock.now() - 30 * DAY_MS).length}`);
  }
  /** Rows of the hours that ended before `ms` (retention deletes whole hours). */
  const rowsOlderThan = (deps: ReturnType<typeof setup>['deps'], ms: number) => [...deps.ledger.rows.values()].filter((r) => r.contentCreated.slice(0, 13) < hourOf(ms));
  const factHoursOlderThan = (deps: ReturnType<typeof setup>['deps'], ms: number) => [...deps.listings.hours.keys()].map((k) => k.split('|')[2]!).filter((h) => h < hourOf(ms));

  it('deletes only rows whose hour has a final summary, a few days of hours per run', async () => {
    const { deps, run } = await history(40);
    const cutoff = now - 30 * DAY_MS;
    await run({ finalizeHoursPerRun: 24 });
    const progress = await deps.summaries.progress(stream);
    expect(progress).toMatchObject({ finalizedFrom: hourOf(now - 40 * DAY_MS + 5 * MINUTE_MS), finalizedThrough: hourOf(now - 39 * DAY_MS + 5 * MINUTE_MS), purgedThrough: progress.finalizedThrough });
    // 24 hours finalized and purged; every remaining old row is in an hour not finalized yet.
    expect(rowsOlderThan(deps, cutoff)).toHaveLength(9 * 24);
    for (const r of rowsOlderThan(deps, cutoff)) expect(r.contentCreated.slice(0, 13) >= progress.finalizedThrough!).toBe(true);
    const final = await deps.summaries.range(stream, '0000', progress.finalizedThrough!);
    expect(final).toHaveLength(24);
    expect(final.every((s) => s.final && s.ledger === 1 && s.listed === 1 && s.holds)).toBe(true);
  });

  it('after a few runs nothing older than LEDGER_RETENTION_DAYS is left, and the invariant still holds across the summary boundary', async () => {
    const s = await history(40);
    const { deps } = s;
    const cutoff = now - 30 * DAY_MS;
    const { health, runs } = await catchUp(s);
    expect(runs).toBe(16); // 32 days of final hours, 48 hours a run
    expect(rowsOlderThan(deps, cutoff)).toEqual([]);
    expect(factHoursOlderThan(deps, cutoff)).toEqual([]);
    expect(rowsOlderThan(deps, cutoff + DAY_MS).length).toBeGreaterThan(0); // rows inside the retention stay
    // The invariant covers 7 days past the retention: hours read now and hours known only from their
    // summaries, every blob of them counted once.
    expect(health.invariant.from).toBe(hourOf(deps.clock.now() - 37 * DAY_MS));
    const covered = 37 * 24;
    expect(health.invariant).toMatchObject({ holds: true, listed: covered, ledger: covered, records: 3 * covered, events: 3 * covered });
    expect(health.invariant.hoursSummarized).toBeGreaterThan(30 * 24);
    expect(health.state).toBe('ok');
  });

  it('keeps a violation of an hour whose rows retention deleted: the summary remembers the blob', async () => {
    const s = await history(40);
    const { deps, run } = s;
    const old = now - 35 * DAY_MS + 5 * MINUTE_MS;
    await deps.listings.record(stream, [{ contentId: 'lost-long-ago', contentCreated: iso(old), listedAt: iso(old + HOUR_MS), by: 'poll' }]);
    await catchUp(s);
    expect(rowsOlderThan(deps, now - 30 * DAY_MS)).toEqual([]);
    expect(factHoursOlderThan(deps, now - 30 * DAY_MS)).toEqual([]);
    const health = await run();
    expect(health.state).toBe('failing');
    expect(health.invariant.examples).toMatchObject([{ contentId: 'lost-long-ago', problem: 'notInLedger', hour: hourOf(old) }]);
  });

  it('reads only the recent range once caught up: a run touches the last 48 h, one re-count slice and the rows not done', async () => {
    const s = await history(40);
    const { deps, run } = s;
    await catchUp(s);
    const read: LedgerEntry[] = [];
    const query = deps.ledger.query.bind(deps.ledger);
    deps.ledger.query = async function* (s, filter) {
      for await (const r of query(s, filter)) {
        read.push(r);
        yield r;
      }
    };
    await run();
    // 48–49 hours of the recent range, 12 re-counted hours, nothing else (every row is done).
    expect(read.length).toBeLessThanOrEqual(49 + 12 + 1);
    expect(read.length).toBeGreaterThanOrEqual(48 + 12);
  });
});
