import { describe, expect, it } from 'vitest';
import { handleOnPoisonMessage } from '../../../functions/onPoison.js';
import { CONTENT_TYPES, type ContentType } from '../../../shared/core/model.js';
import { HOUR_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import { noMetrics, silentLogger } from '../../../shared/ports.js';
import { reconcile } from '../../../shared/usecases/reconcile.js';
import { createQueueWorker } from '../../../tools/local/queueWorker.js';
import { newTenantId, T0, type Harness } from '../harness.js';
import { ingestWorker, startDeliveryStack } from '../setup.js';

const HUB = 'm365-audit';
const { broker, startHarness } = await startDeliveryStack(HUB, 4);

async function pipeline(tenants: Parameters<typeof startHarness>[0]['tenants'], env: Record<string, string> = {}) {
  const harness = await startHarness({ tenants, env });
  const queue = harness.wiring.storage.queue(harness.config.contentQueueName);
  const poison = harness.wiring.storage.queue(`${harness.config.contentQueueName}-poison`);
  const worker = ingestWorker(harness);
  const poisonWorker = createQueueWorker({
    queue: poison,
    poisonQueue: harness.wiring.storage.queue(`${harness.config.contentQueueName}-poison2`),
    functionName: 'onPoison',
    handler: (message, context) => handleOnPoisonMessage(message, context, harness.wiring),
  });
  return { h: harness, worker, poisonWorker, queue };
}

function hubRecordIds(): string[] {
  return broker.events(HUB).map((e) => JSON.parse(e.body.toString('utf8')) as { EventOriginalUid?: string }).map((e) => e.EventOriginalUid ?? '');
}

function servedRecordIds(harness: Harness, tenantId: string, contentIds: string[]): Set<string> {
  const ids = new Set<string>();
  for (const contentId of contentIds) for (const r of harness.sim.recordsOf(tenantId, contentId) as { Id?: string }[]) ids.add(String(r.Id));
  return ids;
}

describe('end to end: simulated tenant → poll → Azurite queue → ingest → Event Hubs broker', () => {
  it('every record the tenant served arrives, across all five content types', async () => {
    const tenantId = newTenantId();
    const { h, worker } = await pipeline([{ tenantId, blobsPerHour: 2, recordsPerBlob: 6 }], { INITIAL_LOOKBACK_HOURS: '6' });
    const [first] = await h.poll();
    expect(first?.outcome).toBe('complete');
    const handled = await worker.drain();
    expect(handled).toBeGreaterThan(40);

    const listed: string[] = [];
    for (const contentType of CONTENT_TYPES) listed.push(...h.sim.blobs(tenantId, contentType, T0 - 6 * HOUR_MS, T0 - 10 * MINUTE_MS).map((b) => b.contentId));
    const expected = servedRecordIds(h, tenantId, listed);
    const arrived = new Set(hubRecordIds());
    const missing = [...expected].filter((id) => !arrived.has(id));
    expect(missing).toEqual([]);
    // Every blob's ledger row is done with its record count.
    for (const contentType of CONTENT_TYPES) {
      for (const blob of h.sim.blobs(tenantId, contentType, T0 - 6 * HOUR_MS, T0 - 10 * MINUTE_MS)) {
        const row = await h.wiring.ledger.get({ tenantId, contentType: contentType as ContentType }, blob.contentId);
        expect(row).toMatchObject({ status: 'done', records: h.sim.recordsOf(tenantId, blob.contentId).length });
      }
    }
    const sample = broker.events(HUB)[0]!;
    const body = JSON.parse(sample.body.toString('utf8'));
    expect(sample).toMatchObject({ messageId: body.EventId, contentType: 'application/json', partitionKey: body.SourceContentId });
    expect(sample.properties).toMatchObject({ EnvelopeVersion: '1.0.0', Source: 'O365ManagementActivity', OrganizationId: tenantId });
  });

  it('redelivery of a done message sends nothing', async () => {
    const tenantId = newTenantId();
    const { h, worker, queue } = await pipeline([{ tenantId, blobsPerHour: 1, recordsPerBlob: 3 }], { O365_CONTENT_TYPES: 'Audit.Exchange', INITIAL_LOOKBACK_HOURS: '3' });
    await h.poll();
    const messages = await queue.peekMessages({ numberOfMessages: 32 });
    await worker.drain();
    const sent = broker.events(HUB).length;
    for (const m of messages.peekedMessageItems) await queue.sendMessage(m.messageText);
    expect(await worker.drain()).toBe(messages.peekedMessageItems.length);
    expect(broker.events(HUB).length).toBe(sent);
  });

  it('a broker failure mid-blob loses nothing', async () => {
    const tenantId = newTenantId();
    const { h, worker } = await pipeline([{ tenantId, blobsPerHour: 0 }], { O365_CONTENT_TYPES: 'Audit.SharePoint' });
    // One big blob (several batches) so the failure lands in the middle of it.
    const blob = h.sim.addBlob(tenantId, 'Audit.SharePoint', { contentCreated: T0 - 2 * HOUR_MS, recordCount: 3000 });
    await h.poll();
    broker.faults.serverBusy(10); // more than the producer retries: the first attempt fails
    broker.faults.dropOnTransfer(3);
    await worker.settle();
    const expected = servedRecordIds(h, tenantId, [blob.contentId]);
    const arrived = new Set(hubRecordIds());
    expect([...expected].filter((id) => !arrived.has(id))).toEqual([]);
    const row = await h.wiring.ledger.get({ tenantId, contentType: 'Audit.SharePoint' }, blob.contentId);
    expect(row).toMatchObject({ status: 'done', records: 3000 });
    expect(row!.attempts).toBeGreaterThanOrEqual(2);
    // The retry was delivery's own (re-enqueued with a delay), not the host's: no attempt threw.
    expect(worker.stats.failed).toBe(0);
  });

  it('expired, missing, malformed and hostile content each end with the right ledger status and reason', async () => {
    const tenantId = newTenantId();
    const { h, worker } = await pipeline([{ tenantId, blobsPerHour: 0 }], { O365_CONTENT_TYPES: 'Audit.General' });
    const stream = { tenantId, contentType: 'Audit.General' as const };
    const expiring = h.sim.addBlob(tenantId, 'Audit.General', { contentCreated: T0 - 3 * HOUR_MS, expiresAt: T0 + 5 * MINUTE_MS, records: [{ Id: 'e1' }] });
    const malformed = h.sim.addBlob(tenantId, 'Audit.General', { contentCreated: T0 - 3 * HOUR_MS, rawBody: '[{"Id":"m1","RecordType":25},{"Id":' });
    const hostile = h.sim.addBlob(tenantId, 'Audit.General', {
      contentCreated: T0 - 3 * HOUR_MS,
      rawBody: '[{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"Id":"h1","RecordType":999999,"CreationTime":"not a time","ClientIP":"<script>"},"just a string",7,null]',
    });
    await h.poll();
    h.clock.advance(10 * MINUTE_MS); // the expiring blob expires while queued
    // A blob the service no longer has (AF20050): a message for an id it never listed.
    await h.wiring.queue.enqueue([{ ...(await messageFor(h, tenantId, malformed.contentId)), contentId: '20261120000000000000000$gone$audit_general$Audit_General$na01', contentUri: `${h.sim.url}/api/v1.0/${tenantId}/activity/feed/audit/20261120000000000000000$gone$audit_general$Audit_General$na01` }]);
    await h.wiring.ledger.insertIfAbsent([{ tenantId, contentType: 'Audit.General', contentId: '20261120000000000000000$gone$audit_general$Audit_General$na01', contentUri: '', contentCreated: new Date(T0).toISOString(), contentExpiration: new Date(T0 + 7 * 86_400_000).toISOString(), listedAt: new Date(T0).toISOString(), status: 'listed' }]);
    // The malformed blob is downloaded three times (retried with a delay) before it counts as malformed for good.
    await worker.settle();

    const status = async (id: string) => h.wiring.ledger.get(stream, id);
    expect(await status(expiring.contentId)).toMatchObject({ status: 'expired', lastError: expect.stringMatching(/contentExpiration/) });
    expect(await status('20261120000000000000000$gone$audit_general$Audit_General$na01')).toMatchObject({ status: 'missing', lastError: expect.stringMatching(/AF20050/) });
    expect(await status(malformed.contentId)).toMatchObject({ status: 'failed', lastError: expect.stringMatching(/not a JSON array/) });
    expect(await status(hostile.contentId)).toMatchObject({ status: 'done', records: 4 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Each non-delivered blob told the hub in-band.
    const pipelineEvents = broker.events(HUB).map((e) => JSON.parse(e.body.toString('utf8'))).filter((e) => e.EventSchema === 'PipelineError');
    expect(pipelineEvents.map((e) => e.LedgerStatus).sort()).toEqual(['expired', 'failed', 'missing']);
    // The malformed blob is kept in quarantine.
    const quarantined = [];
    for await (const b of h.wiring.storage.blobService().getContainerClient('quarantine').listBlobsFlat()) quarantined.push(b.name);
    expect(quarantined).toContain(`content/${tenantId}/${malformed.contentId}`);
  });

  it('an oversize record takes the claim-check path', async () => {
    const tenantId = newTenantId();
    const { h, worker } = await pipeline([{ tenantId, blobsPerHour: 0 }], { O365_CONTENT_TYPES: 'DLP.All', MAX_EVENT_BYTES: '8192' });
    const big = { Id: 'big-1', RecordType: 11, CreationTime: '2026-11-20T09:00:00', Operation: 'DlpRuleMatch', Workload: 'SharePoint', PolicyDetails: [{ PolicyName: 'x'.repeat(20_000) }] };
    h.sim.addBlob(tenantId, 'DLP.All', { contentCreated: T0 - HOUR_MS, records: [big, { Id: 'small-1', RecordType: 11 }] });
    await h.poll();
    await worker.drain();
    const events = broker.events(HUB).map((e) => ({ size: e.body.length, body: JSON.parse(e.body.toString('utf8')) }));
    const bigEvent = events.find((e) => e.body.EventOriginalUid === 'big-1')!;
    expect(bigEvent.size).toBeLessThanOrEqual(8192);
    expect(bigEvent.body).toMatchObject({ Raw: null, RawTruncated: true });
    const url = new URL(bigEvent.body.RawRef);
    const blobName = decodeURIComponent(url.pathname.split('/').slice(3).join('/'));
    const download = await h.wiring.storage.blobService().getContainerClient('claim-check').getBlobClient(blobName).downloadToBuffer();
    expect(JSON.parse(download.toString('utf8'))).toEqual(big);
    expect(events.find((e) => e.body.EventOriginalUid === 'small-1')?.body.RawTruncated).toBe(false);
  });

  it('a blob whose downloads keep failing is retried with backoff by delivery itself and arrives once they recover; nothing is poisoned', async () => {
    const tenantId = newTenantId();
    const { h, worker, poisonWorker } = await pipeline([{ tenantId, blobsPerHour: 0 }], { O365_CONTENT_TYPES: 'Audit.Exchange' });
    const blob = h.sim.addBlob(tenantId, 'Audit.Exchange', { contentCreated: T0 - HOUR_MS, records: [{ Id: 'p1' }, { Id: 'p2' }] });
    await h.poll();
    // More failures in a row than the host's maxDequeueCount (5), each answered after the management client's own retries.
    h.sim.faults.inject({ op: 'blob', times: 7 * 4, fault: { kind: 'status', status: 503 } });
    await worker.settle();
    expect(worker.stats).toMatchObject({ failed: 0, poisoned: 0 });
    expect(await poisonWorker.drain()).toBe(0);
    const row = await h.wiring.ledger.get({ tenantId, contentType: 'Audit.Exchange' }, blob.contentId);
    expect(row).toMatchObject({ status: 'done', records: 2, events: 2 });
    expect(row!.attempts).toBeGreaterThan(5);
    expect(new Set(hubRecordIds())).toEqual(new Set(['p1', 'p2', '']));
  });

  it('a message the host poisoned is retried by reconcile at its retry time and delivered', async () => {
    const tenantId = newTenantId();
    const { h, worker, poisonWorker } = await pipeline([{ tenantId, blobsPerHour: 0 }], { O365_CONTENT_TYPES: 'Audit.Exchange' });
    const stream = { tenantId, contentType: 'Audit.Exchange' as const };
    const blob = h.sim.addBlob(tenantId, 'Audit.Exchange', { contentCreated: T0 - HOUR_MS, records: [{ Id: 'q1' }] });
    await h.poll();
    // The host gave up on the message (five crashes): it is moved to the poison queue, as the host does.
    const poison = h.wiring.storage.queue(`${h.config.contentQueueName}-poison`);
    const queue = h.wiring.storage.queue(h.config.contentQueueName);
    const { receivedMessageItems: [item] } = await queue.receiveMessages();
    await poison.sendMessage(item!.messageText);
    await queue.deleteMessage(item!.messageId, item!.popReceipt);
    expect(await poisonWorker.drain()).toBe(1);
    const poisoned = await h.wiring.ledger.get(stream, blob.contentId);
    expect(poisoned).toMatchObject({ status: 'poisoned' });
    const [event] = broker.events(HUB).map((e) => JSON.parse(e.body.toString('utf8')));
    expect(event).toMatchObject({ EventSchema: 'PipelineError', LedgerStatus: 'poisoned', SourceContentId: blob.contentId });
    // Reconcile leaves it until its retry time, then re-enqueues it; the worker delivers it.
    const { ledger, cursors, health, listings, summaries, sweeps, gaps, clock } = h.wiring;
    const runReconcile = () => reconcile([stream], { ledger, cursors, queue: h.wiring.queue, health, listings, summaries, sweeps, gaps, clock, logger: silentLogger, metrics: noMetrics }, { retry: { initialInMs: 1000, maxInMs: 2000 } });
    await runReconcile();
    expect(await worker.drain()).toBe(0);
    h.clock.advance(Date.parse(poisoned!.nextAttemptAt!) - h.clock.now());
    await runReconcile();
    await worker.settle();
    expect(await h.wiring.ledger.get(stream, blob.contentId)).toMatchObject({ status: 'done', records: 1 });
    expect(hubRecordIds()).toContain('q1');
  });
});

async function messageFor(h: Harness, tenantId: string, contentId: string) {
  const row = await h.wiring.ledger.get({ tenantId, contentType: 'Audit.General' }, contentId);
  return { v: 1 as const, tenantId, contentType: 'Audit.General' as const, contentId, contentUri: row!.contentUri, contentCreated: row!.contentCreated, contentExpiration: row!.contentExpiration, listedAt: row!.listedAt };
}
