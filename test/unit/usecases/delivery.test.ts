import { describe, expect, it } from 'vitest';
import { serializeContentMessage, type ContentMessage } from '../../../shared/core/contentMessage.js';
import { TransientError } from '../../../shared/core/errors.js';
import { digestOf } from '../../../shared/core/manifest.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import type { LedgerEntry } from '../../../shared/core/ledger.js';
import { ingestContent } from '../../../shared/usecases/ingestContent.js';
import type { IngestContentOptions, IngestOutcome } from '../../../shared/usecases/common/delivery.js';
import { onPoison } from '../../../shared/usecases/onPoison.js';
import { replay } from '../../../shared/usecases/operations.js';
import { reconcile } from '../../../shared/usecases/reconcile.js';
import { redeliverStream } from '../../../shared/usecases/common/redelivery.js';
import {
  ManualClock, MemoryBlobStore, MemoryContentSource, MemoryCursorStore, MemoryHealthStore, MemoryLedger, MemoryQueue, MemorySink, reconcileStores, RecordingLogger, RecordingMetrics,
} from '../../fakes/ports.js';

const tenantId = '77777777-7777-4777-8777-777777777777';
const endpoint = 'https://manage.office.com';
const start = Date.parse('2026-11-24T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function record(i: number) {
  return { CreationTime: '2026-11-24T10:00:00', Id: `${i.toString(16).padStart(8, '0')}-aaaa-4bbb-8ccc-dddddddddddd`, Operation: 'FileAccessed', OrganizationId: tenantId, RecordType: 6, Workload: 'SharePoint', UserId: 'megan@contoso.com' };
}

/**
 * One blob, a ledger, a hub and a queue whose messages come back after their visibility delay: `drain`
 * plays the queue host, delivering each message when it becomes visible, with the clock moved there.
 */
function setup(count = 40, options: Partial<IngestContentOptions> = {}) {
  const contentId = '20261124100000000000002$20261124100500000000002$audit_sharepoint$Audit_SharePoint$emea0002';
  const contentUri = `${endpoint}/api/v1.0/${tenantId}/activity/feed/audit/${contentId}`;
  const message: ContentMessage = {
    v: 1, tenantId, contentType: 'Audit.SharePoint', contentId, contentUri,
    contentCreated: '2026-11-24T10:05:00.000Z', contentExpiration: iso(start + 6 * DAY_MS), listedAt: '2026-11-24T10:20:00.000Z',
  };
  const clock = new ManualClock(start);
  const queue = new MemoryQueue();
  const deps = {
    tenants: new Map([[tenantId, { managementEndpoint: endpoint }]]),
    ledger: new MemoryLedger(), source: new MemoryContentSource(), sink: new MemorySink(), blobs: new MemoryBlobStore(),
    queue, clock, logger: new RecordingLogger(), metrics: new RecordingMetrics(), workerId: 'w1',
  };
  const records = Array.from({ length: count }, (_, i) => record(i));
  deps.source.bodies.set(contentUri, JSON.stringify(records));
  const stream = { tenantId, contentType: 'Audit.SharePoint' as const };
  const ingestOptions: IngestContentOptions = { maxEventBytes: 61440, partitionKeyMode: 'content', retry: { initialInMs: 30_000, maxInMs: HOUR_MS }, ...options };
  const events = () => deps.sink.published.map((e) => JSON.parse(e.body) as Record<string, unknown>);
  const recordIds = () => events().filter((e) => e.EnvelopeSchema === 'm365.audit.normalized').map((e) => e.EventOriginalUid);
  const row = async () => (await deps.ledger.get(stream, contentId))!;
  const listed = () => deps.ledger.insertIfAbsent([{ ...message, status: 'listed', attempts: 0, enqueuedAt: message.listedAt }]);
  /** Visible-at time of each queued message, parallel to `queue.messages` (consumed ones are undefined). */
  const visibleAt: (number | undefined)[] = [];
  let seen = 0;
  const noteNew = () => {
    for (; seen < queue.messages.length; seen++) visibleAt[seen] = clock.now() + queue.delays[seen]!;
  };
  const outcomes: IngestOutcome[] = [];
  /** Delivers queued messages as they become visible, until none is left or the clock passes `until`; `before` runs first each time. */
  const drain = async (until: number, before: (now: number) => void = () => {}) => {
    noteNew();
    for (;;) {
      let next = -1;
      for (let i = 0; i < visibleAt.length; i++) if (visibleAt[i] !== undefined && (next < 0 || visibleAt[i]! < visibleAt[next]!)) next = i;
      if (next < 0 || visibleAt[next]! > until) return;
      if (visibleAt[next]! > clock.now()) clock.advance(visibleAt[next]! - clock.now());
      visibleAt[next] = undefined;
      before(clock.now());
      outcomes.push(await ingestContent(serializeContentMessage(queue.messages[next]!), deps, ingestOptions));
      noteNew();
    }
  };
  const first = async () => {
    await queue.enqueue([message]);
    noteNew();
  };
  return { message, contentUri, deps, records, stream, ingestOptions, events, recordIds, row, listed, drain, first, outcomes, clock };
}

describe('delivery retries until the content expires', () => {
  it('30 minutes of failing downloads, then 30 of a failing hub: every record arrives once, nothing poisoned or failed', async () => {
    const t = setup(40);
    await t.listed();
    await t.first();
    const downloadsFailUntil = start + 30 * MINUTE_MS;
    const hubFailsUntil = downloadsFailUntil + 30 * MINUTE_MS;
    await t.drain(start + 4 * HOUR_MS, (now) => {
      if (now < downloadsFailUntil) t.deps.source.errors.set(t.contentUri, new TransientError('ServiceUnavailable', 'HTTP 503 (test)'));
      else t.deps.source.errors.delete(t.contentUri);
      // The hub takes the first batch, then is busy until its outage ends.
      t.deps.sink.failOnSend = now < hubFailsUntil && now >= downloadsFailUntil ? (t.deps.sink as unknown as { sends: number }).sends + 1 : undefined;
    });
    expect(new Set(t.recordIds())).toEqual(new Set(t.records.map((r) => r.Id)));
    expect(t.recordIds()).toHaveLength(40);
    const row = await t.row();
    expect(row).toMatchObject({ status: 'done', records: 40, events: 40 });
    expect(t.outcomes.some((o) => o.status === 'failed')).toBe(false);
    // It took several attempts, each after a longer wait: 30 s, 60 s, 120 s, ...
    const retries = t.outcomes.filter((o) => o.status === 'retrying').map((o) => o.delayInMs!);
    expect(retries.length).toBeGreaterThanOrEqual(6);
    expect(retries.slice(0, 4)).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(t.deps.queue.delays.slice(1, 5)).toEqual([30_000, 60_000, 120_000, 240_000]);
  });

  it('an outage that outlasts the content: failed, "expired during retries", and the alarm raised a day before', async () => {
    const t = setup(5);
    await t.listed();
    await t.first();
    t.deps.source.errors.set(t.contentUri, new TransientError('Network', 'ECONNRESET (test)'));
    const expires = Date.parse(t.message.contentExpiration);
    // Until 23 h before the expiry: still retrying, and reconcile raises the alarm.
    await t.drain(expires - 23 * HOUR_MS);
    t.clock.advance(expires - 23 * HOUR_MS - t.clock.now());
    const stores = { cursors: new MemoryCursorStore(), health: new MemoryHealthStore(), ...reconcileStores() };
    const [health] = await reconcile([t.stream], { ...t.deps, ...stores });
    expect(health).toMatchObject({ state: 'failing', expiringSoon: 1 });
    expect(t.deps.logger.lines.some((l) => l.level === 'error' && l.message === 'blobs not done expire within a day')).toBe(true);
    expect((await t.row()).status).not.toMatch(/failed|poisoned/);
    await t.drain(expires + HOUR_MS);
    const row = await t.row();
    expect(row.status).toBe('failed');
    expect(row.lastError).toMatch(/^expired during retries \(\d+ attempts; contentExpiration .*\); last error: .*ECONNRESET/);
    // The last attempt ran close to the deadline (expiry minus the 10-minute margin), not an hour before it.
    expect(Date.parse(row.completedAt!)).toBeGreaterThanOrEqual(expires - 10 * MINUTE_MS);
    const [event] = t.events().filter((e) => e.EventSchema === 'PipelineError');
    expect(event).toMatchObject({ LedgerStatus: 'failed' });
  });

  it('a poisoned message is not an end: reconcile re-enqueues the blob at its retry time and it is delivered', async () => {
    const t = setup(8);
    await t.listed();
    await t.deps.ledger.update(t.stream, t.message.contentId, { attempts: 5, lastError: 'Error: worker crashed' });
    await onPoison(serializeContentMessage(t.message), t.deps, 5, { retry: t.ingestOptions.retry });
    const poisoned = await t.row();
    expect(poisoned).toMatchObject({ status: 'poisoned' });
    const retryAt = Date.parse(poisoned.nextAttemptAt!);
    expect(retryAt).toBe(start + 8 * MINUTE_MS); // 30 s × 2^4
    // Before its time, reconcile leaves it; at its time, it goes back on the queue (once).
    expect(await redeliverStream(t.stream, t.deps, { retry: t.ingestOptions.retry })).toMatchObject({ stuck: 0 });
    t.clock.advance(retryAt - start);
    expect(await redeliverStream(t.stream, t.deps, { retry: t.ingestOptions.retry })).toMatchObject({ stuck: 1 });
    expect(await redeliverStream(t.stream, t.deps, { retry: t.ingestOptions.retry })).toMatchObject({ stuck: 0 });
    await t.drain(start + DAY_MS);
    expect(await t.row()).toMatchObject({ status: 'done', records: 8 });
    expect(t.recordIds()).toHaveLength(8);
  });
});

describe('partial content is salvaged', () => {
  it('a body that breaks off after 20 of 40 records: the 20 arrive at once, the retry resumes at 20, each record once', async () => {
    const t = setup(40);
    await t.listed();
    const body = JSON.stringify(t.records);
    const cutAt = body.indexOf(t.records[20]!.Id) - 8; // inside record 20
    t.deps.source.breakAfter = { uri: t.contentUri, bytes: cutAt };
    t.deps.sink.batchSize = 100; // nothing reaches the hub before the break unless the failure flushes it
    t.deps.source.chunkSize = 64;
    await t.first();
    await t.drain(start + 30_000 - 1);
    expect(t.outcomes).toMatchObject([{ status: 'retrying' }]);
    expect(t.recordIds()).toEqual(t.records.slice(0, 20).map((r) => r.Id));
    expect(await t.row()).toMatchObject({ status: 'listed', resumeOffset: 20 });
    await t.drain(start + HOUR_MS);
    expect(t.recordIds()).toEqual(t.records.map((r) => r.Id));
    expect(await t.row()).toMatchObject({ status: 'done', records: 40, events: 40 });
  });

  it('a body malformed after 20 of 40 records: the 20 arrive once, and the row ends failed saying where it broke', async () => {
    const t = setup(0);
    await t.listed();
    const records = Array.from({ length: 40 }, (_, i) => record(i));
    const good = records.slice(0, 20).map((r) => JSON.stringify(r)).join(',');
    // A bracket that closes what is not open: the array's structure is broken (not merely one bad element).
    const body = `[${good},{"Id": "broken", "Operation": [1}]`;
    t.deps.source.bodies.set(t.contentUri, body);
    t.deps.sink.batchSize = 100;
    await t.first();
    await t.drain(start + DAY_MS);
    expect(t.recordIds()).toEqual(records.slice(0, 20).map((r) => r.Id));
    const row = await t.row();
    expect(row).toMatchObject({ status: 'failed', resumeOffset: 20, brokeAtRecord: 20, events: 20, attempts: 3 });
    expect(row.brokeAtByte).toBe(body.indexOf('[1}') + 2);
    expect(row.lastError).toMatch(/^content is not a JSON array after record 20 \(.* at byte \d+\); 20 records were published before it; permanently malformed after 3 downloads$/);
    expect(row.lastError!.match(/at byte/g)).toHaveLength(1);
    expect(t.deps.blobs.blobs.get(`quarantine/content/${tenantId}/${t.message.contentId}`)).toBe(body);
  });
});

describe('one delivery at a time', () => {
  it('two copies of one message processed together: one publication, the copy backs off until the lease ends', async () => {
    const t = setup(40);
    await t.listed();
    // Both in one worker process, as when the host's batch holds both copies.
    const copy = t.deps;
    const [a, b] = await Promise.all([
      ingestContent(serializeContentMessage(t.message), t.deps, t.ingestOptions),
      ingestContent(serializeContentMessage(t.message), copy, t.ingestOptions),
    ]);
    expect([a.status, b.status].sort()).toEqual(['done', 'leased']);
    expect(t.recordIds()).toEqual(t.records.map((r) => r.Id));
    expect(t.events().filter((e) => e.EventSchema === 'BlobManifest')).toHaveLength(1);
    // The copy went back on the queue, invisible for the rest of the lease; when it comes back, the blob is done.
    expect(t.deps.queue.messages).toHaveLength(1);
    expect(t.deps.queue.delays[0]).toBeGreaterThan(MINUTE_MS - 1000);
    expect(await ingestContent(serializeContentMessage(t.message), copy, t.ingestOptions)).toMatchObject({ status: 'duplicate' });
    expect(t.recordIds()).toHaveLength(40);
  });

  it('an expired lease (a crashed worker) is taken over and delivery resumes at its checkpoint', async () => {
    const t = setup(12);
    const crashed: LedgerEntry = { ...t.message, status: 'delivering', attempts: 1, leaseOwner: 'gone', leaseUntil: iso(start - 1000), resumeOffset: 8, enqueuedAt: t.message.listedAt };
    await t.deps.ledger.insertIfAbsent([crashed]);
    expect(await ingestContent(serializeContentMessage(t.message), t.deps, t.ingestOptions)).toMatchObject({ status: 'done', records: 12 });
    expect(t.recordIds()).toEqual(t.records.slice(8).map((r) => r.Id));
    expect(await t.row()).toMatchObject({ status: 'done', attempts: 2, events: 12 });
    expect((await t.row()).leaseOwner).toBeUndefined();
    expect(t.deps.logger.lines.some((l) => l.message.startsWith('taking over an expired delivery lease'))).toBe(true);
    // The manifest still covers all twelve: the skipped ones are in its digest.
    const [manifest] = t.events().filter((e) => e.EventSchema === 'BlobManifest');
    const all = await allEventIds(t.records.length);
    expect(manifest).toMatchObject({ RecordCount: 12, EventCount: 12, DistinctEventIds: 12, EventIdDigest: digestOf(all).value, SourceContentId: t.message.contentId });
  });

  it('a worker that stalls past its lease stops publishing once another has taken the row over', async () => {
    const t = setup(40, { leaseInMs: 60_000 });
    await t.listed();
    t.deps.sink.batchSize = 10;
    let taken = false;
    const source = t.deps.source;
    // After the first batch, the lease lapses and another worker takes the row.
    const stalling = {
      download: async (tenant: string, uri: string) => {
        const { body } = await source.download(tenant, uri);
        return {
          body: (async function* () {
            let n = 0;
            for await (const chunk of body) {
              if (++n === 30 && !taken) {
                taken = true;
                const current = (await t.deps.ledger.read(t.stream, t.message.contentId))!;
                await t.deps.ledger.replaceIf({ ...current.entry, leaseOwner: 'w9', leaseUntil: iso(start + HOUR_MS) }, current.etag);
              }
              yield chunk;
            }
          })(),
        };
      },
    };
    const outcome = await ingestContent(serializeContentMessage(t.message), { ...t.deps, source: stalling }, t.ingestOptions);
    expect(outcome.status).toBe('leaseLost');
    expect(t.recordIds().length).toBeLessThan(40);
    expect(await t.row()).toMatchObject({ status: 'delivering', leaseOwner: 'w9' });
  });

  it('a row another writer touches without taking the lease (the poller recording its enqueue) does not stop the delivery', async () => {
    const t = setup(40);
    await t.listed();
    t.deps.sink.batchSize = 10;
    const source = t.deps.source;
    let touched = 0;
    const touching = {
      download: async (tenant: string, uri: string) => {
        const { body } = await source.download(tenant, uri);
        return {
          body: (async function* () {
            for await (const chunk of body) {
              if (++touched % 25 === 0) await t.deps.ledger.markEnqueued(t.stream, [t.message.contentId], iso(start + touched));
              yield chunk;
            }
          })(),
        };
      },
    };
    expect(await ingestContent(serializeContentMessage(t.message), { ...t.deps, source: touching }, t.ingestOptions)).toMatchObject({ status: 'done', records: 40 });
    expect(t.recordIds()).toEqual(t.records.map((r) => r.Id));
    // The other writer's field survived the checkpoints.
    expect((await t.row()).enqueuedAt).not.toBe(t.message.listedAt);
  });
});

describe('fewer duplicates after a crash', () => {
  it('the row records every acknowledged batch, so a crash replays at most one batch', async () => {
    const t = setup(40);
    await t.listed();
    t.deps.sink.batchSize = 5;
    const offsets: number[] = [];
    const ledger = t.deps.ledger;
    const watching = Object.assign(Object.create(ledger) as MemoryLedger, {
      replaceIf: async (entry: LedgerEntry, etag: string) => {
        if (entry.status === 'delivering' && entry.resumeOffset !== undefined) offsets.push(entry.resumeOffset);
        return ledger.replaceIf(entry, etag);
      },
    });
    await ingestContent(serializeContentMessage(t.message), { ...t.deps, ledger: watching }, t.ingestOptions);
    expect(offsets).toEqual([5, 10, 15, 20, 25, 30, 35, 40]);
  });
});

describe('the blob manifest', () => {
  it('follows the records in the same publication, with counts and the digest of their EventIds', async () => {
    const t = setup(9);
    await t.listed();
    await ingestContent(serializeContentMessage(t.message), t.deps, t.ingestOptions);
    const events = t.events();
    expect(events).toHaveLength(10);
    const manifest = events[9]!;
    const ids = events.slice(0, 9).map((e) => e.EventId as string);
    expect(manifest).toMatchObject({ EnvelopeSchema: 'm365.audit.pipeline', EventSchema: 'BlobManifest', RecordCount: 9, EventCount: 9, DistinctEventIds: 9, EventIdDigest: digestOf(ids).value });
    // Same partition key as the blob's events.
    expect(new Set(t.deps.sink.published.map((e) => e.partitionKey)).size).toBe(1);
  });
});

describe('replay', () => {
  it('of a done blob really delivers it again, from its first record; a failed one resumes where it stopped', async () => {
    const t = setup(6);
    await t.listed();
    await ingestContent(serializeContentMessage(t.message), t.deps, t.ingestOptions);
    expect(t.recordIds()).toHaveLength(6);
    const result = await replay(t.stream, t.deps, { statuses: ['done'] });
    expect(result.replayed).toEqual([t.message.contentId]);
    expect(await t.row()).toMatchObject({ status: 'listed', resumeOffset: 0, attempts: 0 });
    expect(await ingestContent(serializeContentMessage(t.deps.queue.messages[0]!), t.deps, t.ingestOptions)).toMatchObject({ status: 'done', records: 6 });
    expect(t.recordIds()).toEqual([...t.records, ...t.records].map((r) => r.Id));

    const failed = setup(6);
    await failed.deps.ledger.insertIfAbsent([{ ...failed.message, status: 'failed', attempts: 3, resumeOffset: 4, lastError: 'expired during retries (test)' }]);
    await replay(failed.stream, failed.deps);
    await ingestContent(serializeContentMessage(failed.deps.queue.messages[0]!), failed.deps, failed.ingestOptions);
    expect(failed.recordIds()).toEqual(failed.records.slice(4).map((r) => r.Id));
  });
});

describe('reconcile never multiplies a backlog', () => {
  it('1,000 pending blobs whose messages wait in the queue, 4 hours of reconcile runs: at most 1,000 + K messages', async () => {
    const t = setup(0);
    const rows: LedgerEntry[] = Array.from({ length: 1000 }, (_, i) => ({ ...t.message, contentId: `blob-${i}`, status: 'listed' as const, enqueuedAt: iso(start) }));
    await t.deps.ledger.insertIfAbsent(rows);
    await t.deps.queue.enqueue(rows.map((r) => ({ ...t.message, contentId: r.contentId })));
    const K = 100;
    const stores = { cursors: new MemoryCursorStore(), health: new MemoryHealthStore(), ...reconcileStores() };
    for (let minute = 0; minute <= 240; minute += 5) {
      t.clock.advance(minute === 0 ? 0 : 5 * MINUTE_MS);
      await reconcile([t.stream], { ...t.deps, ...stores }, { redeliverPerRun: K });
    }
    expect(t.deps.queue.messages.length).toBeLessThanOrEqual(1000 + K);
  });

  it('when the messages are gone (an empty queue), every pending blob is re-enqueued, K per run, each once per stuck period', async () => {
    const t = setup(0);
    const rows: LedgerEntry[] = Array.from({ length: 250 }, (_, i) => ({ ...t.message, contentId: `blob-${i}`, status: 'listed' as const, enqueuedAt: iso(start) }));
    await t.deps.ledger.insertIfAbsent(rows);
    const queued = { ...t.deps.queue, enqueue: t.deps.queue.enqueue.bind(t.deps.queue), approximateDepth: async () => 0 };
    const runs: number[] = [];
    for (let minute = 0; minute <= 90; minute += 5) {
      if (minute > 0) t.clock.advance(5 * MINUTE_MS);
      runs.push((await redeliverStream(t.stream, { ...t.deps, queue: queued }, { redeliverPerRun: 100, queueDepth: 0 })).stuck);
    }
    // Nothing in the first hour; then 100, 100, 50; then nothing until their own hour has passed again.
    expect(runs.slice(0, 12).every((n) => n === 0)).toBe(true);
    expect(runs.slice(12, 15)).toEqual([100, 100, 50]);
    expect(runs.slice(15).every((n) => n === 0)).toBe(true);
    expect(new Set(t.deps.queue.messages.map((m) => m.contentId)).size).toBe(250);
  });
});

describe('hardening of the delivery handlers', () => {
  it('onPoison quarantines a message of a tenant that is not configured, and records nothing for it', async () => {
    const t = setup(1);
    const forged = { ...t.message, tenantId: '55555555-5555-4555-8555-555555555555' };
    const outcome = await onPoison(serializeContentMessage(forged), t.deps, 5);
    expect(outcome).toMatchObject({ status: 'quarantined' });
    expect(outcome.reason).toMatch(/not configured/);
    expect(t.deps.ledger.rows.size).toBe(0);
    expect([...t.deps.blobs.blobs.keys()][0]).toMatch(/^quarantine\/messages\//);
  });

  it.each([
    ['ingest', (input: unknown, deps: Parameters<typeof ingestContent>[1]) => ingestContent(input, deps, { maxEventBytes: 61440, partitionKeyMode: 'content' })],
    ['onPoison', (input: unknown, deps: Parameters<typeof ingestContent>[1]) => onPoison(input, deps, 5)],
  ] as const)('%s quarantines a parsed message nested 5,000 levels deep instead of overflowing the stack', async (_name, handle) => {
    const t = setup(1);
    const deep: Record<string, unknown> = {};
    let at = deep;
    for (let i = 0; i < 5000; i++) at = (at.a = {}) as Record<string, unknown>;
    const outcome = await handle(deep, t.deps);
    expect(outcome.status).toBe('quarantined');
    expect(t.deps.ledger.rows.size).toBe(0);
    const [[, content]] = [...t.deps.blobs.blobs.entries()] as [[string, string]];
    expect(JSON.parse(content).reason).toBe(outcome.reason);
  });
});

/** The EventIds the blob's records get, computed by delivering it to a fresh hub. */
async function allEventIds(count: number): Promise<string[]> {
  const fresh = setup(count);
  await fresh.listed();
  await ingestContent(serializeContentMessage(fresh.message), fresh.deps, fresh.ingestOptions);
  return fresh.events().filter((e) => e.EnvelopeSchema === 'm365.audit.normalized').map((e) => e.EventId as string);
}
