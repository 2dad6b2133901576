import { describe, expect, it } from 'vitest';
import { serializeContentMessage, type ContentMessage } from '../../../shared/core/contentMessage.js';
import { PermanentError } from '../../../shared/core/errors.js';
import { ingestContent } from '../../../shared/usecases/ingestContent.js';
import { onPoison } from '../../../shared/usecases/onPoison.js';
import { ManualClock, MemoryBlobStore, MemoryContentSource, MemoryLedger, MemoryQueue, MemorySink, RecordingLogger, RecordingMetrics } from '../../fakes/ports.js';

const tenantId = '44444444-4444-4444-8444-444444444444';
const endpoint = 'https://manage.office.com';
const now = Date.parse('2026-11-24T12:00:00Z');

function record(i: number, extra: Record<string, unknown> = {}) {
  return {
    CreationTime: '2026-11-24T10:00:00',
    Id: `0000${i.toString().padStart(4, '0')}-aaaa-4bbb-8ccc-dddddddddddd`,
    Operation: 'FileAccessed',
    OrganizationId: tenantId,
    RecordType: 6,
    UserKey: 'i:0h.f|membership|10032000aaaa0001@live.com',
    UserType: 0,
    Workload: 'SharePoint',
    ClientIP: '198.51.100.7',
    UserId: 'megan@contoso.com',
    ObjectId: `https://contoso.sharepoint.com/sites/legal/Shared Documents/file${i}.docx`,
    ...extra,
  };
}

function setup(count = 10) {
  const contentId = `20261124100000000000001$20261124100500000000001$audit_sharepoint$Audit_SharePoint$emea0001`;
  const contentUri = `${endpoint}/api/v1.0/${tenantId}/activity/feed/audit/${contentId}`;
  const message: ContentMessage = {
    v: 1,
    tenantId,
    contentType: 'Audit.SharePoint',
    contentId,
    contentUri,
    contentCreated: '2026-11-24T10:05:00.000Z',
    contentExpiration: '2026-12-01T10:05:00.000Z',
    listedAt: '2026-11-24T10:20:00.000Z',
  };
  const clock = new ManualClock(now);
  const deps = {
    tenants: new Map([[tenantId, { managementEndpoint: endpoint }]]),
    ledger: new MemoryLedger(),
    source: new MemoryContentSource(),
    sink: new MemorySink(),
    blobs: new MemoryBlobStore(),
    queue: new MemoryQueue(),
    clock,
    logger: new RecordingLogger(),
    metrics: new RecordingMetrics(),
  };
  const records = Array.from({ length: count }, (_, i) => record(i));
  deps.source.bodies.set(contentUri, JSON.stringify(records));
  const stream = { tenantId, contentType: 'Audit.SharePoint' as const };
  const options = { maxEventBytes: 61440, partitionKeyMode: 'content' as const };
  const run = (input: unknown = serializeContentMessage(message)) => ingestContent(input, deps, options);
  const listed = () => deps.ledger.insertIfAbsent([{ ...message, status: 'listed', attempts: 0 }]);
  /** The normalized events on the hub (the pipeline's own events, manifests and error reports, left out). */
  const normalized = () => deps.sink.published.map((e) => JSON.parse(e.body)).filter((e) => e.EnvelopeSchema === 'm365.audit.normalized');
  const recordIds = () => normalized().map((e) => e.EventOriginalUid as string);
  const manifests = () => deps.sink.published.map((e) => JSON.parse(e.body)).filter((e) => e.EventSchema === 'BlobManifest');
  return { message, contentUri, deps, records, stream, run, listed, recordIds, normalized, manifests, clock, options };
}

describe('ingestContent', () => {
  it('publishes one event per record, in order, and marks the ledger row done with counts', async () => {
    const { deps, run, listed, records, stream, message, recordIds } = setup(10);
    await listed();
    const outcome = await run();
    expect(outcome).toEqual({ status: 'done', contentId: message.contentId, records: 10 });
    expect(recordIds()).toEqual(records.map((r) => r.Id));
    const first = deps.sink.published[0]!;
    const event = JSON.parse(first.body);
    expect(first).toMatchObject({ messageId: event.EventId, correlationId: message.contentId, partitionKey: message.contentId });
    expect(first.properties).toMatchObject({ EnvelopeVersion: '1.0.0', Source: 'O365ManagementActivity', Workload: 'SharePoint', OrganizationId: tenantId, AMQPheaders: '1' });
    expect(event).toMatchObject({ SourceContentId: message.contentId, SourceContentType: 'Audit.SharePoint', TimeGenerated: '2026-11-24T10:00:00.000Z' });
    const row = await deps.ledger.get(stream, message.contentId);
    expect(row).toMatchObject({ status: 'done', records: 10, events: 10, attempts: 1, resumeOffset: 10, completedAt: new Date(now).toISOString() });
    expect(row?.bytes).toBe(Buffer.byteLength(JSON.stringify(records)));
  });

  it('carries each record verbatim in Raw: its source text, number literals and spacing kept', async () => {
    const { deps, run, listed, contentUri } = setup(0);
    await listed();
    const text = '{"Id": "v1", "RecordType": 50, "CreationTime": "2026-11-24T10:00:00", "SizeInBytes": 1156492.00}';
    deps.source.bodies.set(contentUri, `[${text}]`);
    await run();
    const body = deps.sink.published[0]!.body;
    expect(body.endsWith(`"Raw":${text}}`)).toBe(true);
    expect(JSON.parse(body)).toMatchObject({ EventOriginalUid: 'v1', Raw: JSON.parse(text), RawSizeBytes: Buffer.byteLength(text) });
  });

  it('acknowledges a redelivered message for a done blob without sending anything', async () => {
    const { deps, run, listed } = setup(3);
    await listed();
    await run();
    const sent = deps.sink.published.length;
    expect(await run()).toMatchObject({ status: 'duplicate' });
    expect(deps.sink.published).toHaveLength(sent);
    expect(deps.source.downloads).toHaveLength(1);
  });

  it('a hub failure mid-blob loses nothing: the retry resumes after the last acknowledged batch', async () => {
    const { deps, run, listed, records, recordIds, stream, message } = setup(10);
    await listed();
    deps.sink.failOnSend = 2; // batches of 4: the first lands, the second fails
    expect(await run()).toMatchObject({ status: 'retrying', delayInMs: 30_000 });
    const afterFailure = await deps.ledger.get(stream, message.contentId);
    expect(afterFailure).toMatchObject({ status: 'listed', resumeOffset: 4, attempts: 1, nextAttemptAt: new Date(now + 30_000).toISOString() });
    expect(afterFailure?.lastError).toMatch(/SinkUnavailable/);
    expect(afterFailure?.leaseOwner).toBeUndefined();
    // The blob went back on the queue, invisible for the backoff.
    expect(deps.queue.messages).toEqual([message]);
    expect(deps.queue.delays).toEqual([30_000]);
    expect(await run()).toMatchObject({ status: 'done', records: 10 });
    // Every record arrived exactly once: the first batch was not sent again.
    expect(recordIds()).toEqual(records.map((r) => r.Id));
    expect(await deps.ledger.get(stream, message.contentId)).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('a download that breaks off is retried and completes, without loss', async () => {
    const { deps, run, listed, records, recordIds, contentUri } = setup(10);
    await listed();
    deps.source.breakAfter = { uri: contentUri, bytes: 900 };
    expect(await run()).toMatchObject({ status: 'retrying' });
    expect(await run()).toMatchObject({ status: 'done' });
    expect(new Set(recordIds())).toEqual(new Set(records.map((r) => r.Id)));
  });

  it('records expired content without downloading it, and says so in-band', async () => {
    const { deps, run, listed, clock, stream, message } = setup(3);
    await listed();
    clock.advance(8 * 86_400_000);
    expect(await run()).toMatchObject({ status: 'expired' });
    expect(deps.source.downloads).toEqual([]);
    const row = await deps.ledger.get(stream, message.contentId);
    expect(row).toMatchObject({ status: 'expired' });
    expect(row?.lastError).toMatch(/contentExpiration .* passed before the download/);
    const [event] = deps.sink.published.map((e) => JSON.parse(e.body));
    expect(event).toMatchObject({ EventSchema: 'PipelineError', LedgerStatus: 'expired', SourceContentId: message.contentId, OrganizationId: tenantId });
    expect(deps.metrics.total('blobs.expired')).toBe(1);
    expect(deps.logger.lines.some((l) => l.level === 'error' && l.message === 'content expired')).toBe(true);
  });

  it.each([
    ['AF20051', 'ContentExpired', 'expired'],
    ['AF20050', 'ContentMissing', 'missing'],
    ['AF20052', 'ContentIdInvalid', 'failed'],
  ] as const)('maps %s from the API to ledger status %s', async (afCode, code, status) => {
    const { deps, run, listed, contentUri, stream, message } = setup(3);
    await listed();
    deps.source.errors.set(contentUri, new PermanentError(code, `${afCode} test`, { afCode }));
    expect(await run()).toMatchObject({ status });
    const row = await deps.ledger.get(stream, message.contentId);
    expect(row).toMatchObject({ status });
    expect(row?.lastError).toContain(afCode);
  });

  it('quarantines malformed content and records the failure with its reason', async () => {
    const { deps, run, listed, contentUri, stream, message } = setup(0);
    await listed();
    const body = '[{"Id":"a","RecordType":6},{"Id":"b"';
    deps.source.bodies.set(contentUri, body);
    // Downloaded again twice (a cut may be the network's), then it counts as permanently malformed.
    expect(await run()).toMatchObject({ status: 'retrying' });
    expect(await run()).toMatchObject({ status: 'retrying' });
    expect(await run()).toMatchObject({ status: 'failed' });
    const row = await deps.ledger.get(stream, message.contentId);
    expect(row?.lastError).toMatch(/not a JSON array/);
    expect([...deps.blobs.blobs.entries()]).toEqual([[`quarantine/content/${tenantId}/${message.contentId}`, body]]);
    // The one complete record before the break was still published.
    expect(deps.sink.published.map((e) => JSON.parse(e.body)).map((e) => e.EventSchema ?? e.EnvelopeSchema)).toContain('PipelineError');
  });

  it('keeps an element that is not valid JSON as an event with its text, never drops it', async () => {
    const { deps, run, listed, contentUri } = setup(0);
    await listed();
    deps.source.bodies.set(contentUri, `[${JSON.stringify(record(1))},{"Id": "x", "Bad": tru},${JSON.stringify(record(2))}]`);
    expect(await run()).toMatchObject({ status: 'done', records: 3 });
    const middle = JSON.parse(deps.sink.published[1]!.body);
    expect(middle.Raw).toBe('{"Id": "x", "Bad": tru}');
    expect(middle.ParseWarnings.join(' ')).toMatch(/not valid JSON/);
  });

  it('never sends the token elsewhere: a foreign contentUri is rebuilt from the content id', async () => {
    const { deps, run, listed, message, contentUri } = setup(2);
    await listed();
    const hostile = { ...message, contentUri: `http://localhost/celbroken1/activity/feed/audit/${message.contentId}` };
    expect(await run(serializeContentMessage(hostile))).toMatchObject({ status: 'done' });
    expect(deps.source.downloads).toEqual([contentUri]);
    expect(deps.logger.lines.some((l) => l.level === 'warn' && l.message.startsWith('contentUri anomaly'))).toBe(true);
    expect(deps.metrics.total('contentUri.rebuilt')).toBe(1);
  });

  it.each([
    ['not JSON', 'garbage'],
    ['a forged tenant', 'unknown-tenant'],
  ])('quarantines an unusable message (%s) with its reason', async (_name, kind) => {
    const { deps, run, message } = setup(1);
    const input = kind === 'garbage' ? '{oops' : serializeContentMessage({ ...message, tenantId: '55555555-5555-4555-8555-555555555555' });
    const outcome = await run(input);
    expect(outcome.status).toBe('quarantined');
    const [[name, content]] = [...deps.blobs.blobs.entries()] as [[string, string]];
    expect(name).toMatch(/^quarantine\/messages\/2026-11-24\//);
    expect(JSON.parse(content)).toMatchObject({ reason: outcome.reason, message: input });
    expect(deps.sink.published).toEqual([]);
    expect(deps.source.downloads).toEqual([]);
  });

  it('moves an oversize Raw to a claim-check blob and keeps the event under the budget', async () => {
    const { deps, listed, contentUri, message, options } = setup(0);
    await listed();
    const big = record(1, { Parameters: [{ Name: 'Body', Value: 'x'.repeat(100_000) }] });
    const text = JSON.stringify(big);
    deps.source.bodies.set(contentUri, `[${text}]`);
    await ingestContent(serializeContentMessage(message), deps, options);
    const [sent] = deps.sink.published;
    expect(Buffer.byteLength(sent!.body)).toBeLessThanOrEqual(options.maxEventBytes);
    const event = JSON.parse(sent!.body);
    expect(event).toMatchObject({ Raw: null, RawTruncated: true, EventOriginalUid: big.Id });
    const blobName = `claim-check/${tenantId}/${message.contentId}/${event.EventId}.json`;
    expect(event.RawRef).toBe(`https://blobs.test/${blobName}`);
    expect(deps.blobs.blobs.get(blobName)).toBe(text);
    expect(event.RawSizeBytes).toBe(Buffer.byteLength(text));
  });

  it('survives hostile records without polluting prototypes', async () => {
    const { deps, run, listed, contentUri } = setup(0);
    await listed();
    deps.source.bodies.set(contentUri, '[{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"Id":"h"}, 42, null, "text", [1,2]]');
    expect(await run()).toMatchObject({ status: 'done', records: 5 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(deps.sink.published).toHaveLength(6); // five events and the blob's manifest
  });
});

describe('onPoison', () => {
  it('records the blob as poisoned with its last error and reports it in-band, once per blob', async () => {
    const { deps, listed, stream, message } = setup(1);
    await listed();
    await deps.ledger.update(stream, message.contentId, { attempts: 5, lastError: 'TransientError: SinkUnavailable' });
    await onPoison(serializeContentMessage(message), deps, 5);
    const row = await deps.ledger.get(stream, message.contentId);
    expect(row).toMatchObject({ status: 'poisoned', attempts: 5 });
    expect(row?.lastError).toBe('the queue gave up on its message; last error: TransientError: SinkUnavailable');
    // Not an end: reconcile retries it after the backoff of its fifth attempt (30 s × 2^4).
    expect(row?.nextAttemptAt).toBe(new Date(now + 480_000).toISOString());
    const event = JSON.parse(deps.sink.published[0]!.body);
    expect(event).toMatchObject({ EventSchema: 'PipelineError', LedgerStatus: 'poisoned', Attempts: 5 });
  });

  it('leaves a delivered blob alone', async () => {
    const { deps, run, listed, stream, message } = setup(1);
    await listed();
    await run();
    expect(await onPoison(serializeContentMessage(message), deps, 5)).toMatchObject({ status: 'duplicate' });
    expect(await deps.ledger.get(stream, message.contentId)).toMatchObject({ status: 'done' });
  });
});
