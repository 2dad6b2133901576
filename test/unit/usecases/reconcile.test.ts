import { describe, expect, it } from 'vitest';
import type { StreamKey } from '../../../shared/core/model.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import type { LedgerEntry } from '../../../shared/ports.js';
import { reconcile } from '../../../shared/usecases/reconcile.js';
import { ManualClock, MemoryCursorStore, MemoryHealthStore, MemoryLedger, MemoryQueue, RecordingLogger, RecordingMetrics } from '../../fakes/ports.js';

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

describe('reconcile', () => {
  it('re-enqueues stuck blobs, leaves fresh ones alone, raises those near expiry, and writes the health row', async () => {
    const deps = { ledger: new MemoryLedger(), cursors: new MemoryCursorStore(), queue: new MemoryQueue(), health: new MemoryHealthStore(), clock: new ManualClock(now), logger: new RecordingLogger(), metrics: new RecordingMetrics() };
    await deps.ledger.insertIfAbsent([
      row('stuck', { enqueuedAt: iso(now - 2 * HOUR_MS) }),
      row('never-enqueued', { listedAt: iso(now - 30 * MINUTE_MS) }),
      row('being-listed', { listedAt: iso(now - 2 * MINUTE_MS) }), // a poller is between insert and enqueue
      row('in-flight', { enqueuedAt: iso(now - 5 * MINUTE_MS) }),
      row('expiring', { enqueuedAt: iso(now - 5 * MINUTE_MS), contentExpiration: iso(now + 3 * HOUR_MS) }),
      row('done', { status: 'done', contentCreated: iso(now - HOUR_MS) }),
      row('missing', { status: 'missing', lastError: 'AF20050' }),
    ]);
    await deps.cursors.write(stream, { subscription: 'enabled', consecutiveFailures: 0, gapCount: 0, gapTotalMs: 0, cursor: iso(now - 10 * MINUTE_MS), lastSuccessAt: iso(now) }, undefined);

    const [health] = await reconcile([stream], deps);
    expect(deps.queue.messages.map((m) => m.contentId).sort()).toEqual(['never-enqueued', 'stuck']);
    expect((await deps.ledger.get(stream, 'stuck'))?.enqueuedAt).toBe(iso(now));
    expect(deps.logger.lines.find((l) => l.level === 'error' && l.message === 'undelivered blobs expire within a day')?.fields).toMatchObject({ count: 1, contentIds: ['expiring'] });
    expect(health).toMatchObject({ state: 'degraded', stuck: 2, expiringSoon: 1, unexplained: 0, deliveryLagMinutes: 60, counts: { listed: 5, done: 1, missing: 1 } });
    const hours = health!.hours;
    expect(hours.reduce((s, h) => s + h.listed, 0)).toBe(7);
    for (const h of hours) expect(h.listed).toBe(h.done + h.expired + h.missing + h.failed + h.poisoned + h.pending);
    expect((await deps.health.readAll())[0]).toEqual(health);
    expect(deps.metrics.total('blobs.reenqueued')).toBe(2);
  });

  it('keeps going when one stream fails', async () => {
    const deps = { ledger: new MemoryLedger(), cursors: new MemoryCursorStore(), queue: new MemoryQueue(), health: new MemoryHealthStore(), clock: new ManualClock(now), logger: new RecordingLogger(), metrics: new RecordingMetrics() };
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
