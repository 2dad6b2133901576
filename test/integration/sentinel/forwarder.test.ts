import { randomBytes, randomUUID } from 'node:crypto';
import { ManagedIdentityCredential } from '@azure/identity';
import { InvocationContext } from '@azure/functions';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { handleForwardToLogAnalyticsEvents } from '../../../functions/forwardToLogAnalytics.js';
import { AzureLogsIngestion } from '../../../shared/adapters/logsIngestion/logsIngestionClient.js';
import { AzureBlobStore } from '../../../shared/adapters/storage/blobStore.js';
import { StorageClients } from '../../../shared/adapters/storage/clients.js';
import { TransientError } from '../../../shared/core/errors.js';
import { normalizeRecord } from '../../../shared/core/normalize/index.js';
import type { Logger, Metrics } from '../../../shared/ports.js';
import { forwardEvents, FORWARD_QUARANTINE_PREFIX, type HubEvent } from '../../../shared/usecases/forwardEvents.js';
import type { Wiring } from '../../../shared/wiring.js';
import { CALL_LIMIT_BYTES, startLogsIngestionStandIn, type LogsIngestionStandIn } from '../../../tools/standins/logsIngestion.js';
import { startManagedIdentityStandIn, type ManagedIdentityStandIn } from '../../../tools/standins/managedIdentity.js';
import { pointManagedIdentityAt, serverTls } from '../standins/helpers.js';

// The forwarder (Event Hubs trigger -> Logs Ingestion API) with the real LogsIngestionClient of
// @azure/monitor-ingestion and a real ManagedIdentityCredential, against the ingestion stand-in (HTTPS,
// bearer tokens from the managed identity stand-in, gzip, the 1 MB call limit, 429 with Retry-After), and
// the real blob store on Azurite for quarantined events.

const TENANT = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';
const RULE_ID = `dcr-${randomBytes(16).toString('hex')}`;
const STREAM = 'Custom-M365AuditEvents';

let mi: ManagedIdentityStandIn;
let ingestion: LogsIngestionStandIn;
let restoreEnv: () => void;
let blobs: AzureBlobStore;
let storage: StorageClients;

interface Logged {
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}
const logged: Logged[] = [];
const logger: Logger = {
  debug: (message, fields) => logged.push({ level: 'debug', message, fields }),
  info: (message, fields) => logged.push({ level: 'info', message, fields }),
  warn: (message, fields) => logged.push({ level: 'warn', message, fields }),
  error: (message, fields) => logged.push({ level: 'error', message, fields }),
};
const counted: { name: string; value: number }[] = [];
const metrics: Metrics = { count: (name, value) => counted.push({ name, value }) };

function client(options: { credential?: ManagedIdentityCredential; maxRetries?: number } = {}): AzureLogsIngestion {
  return new AzureLogsIngestion({
    endpoint: ingestion.url,
    ruleId: RULE_ID,
    streamName: STREAM,
    credential: options.credential ?? new ManagedIdentityCredential(),
    audience: 'https://monitor.azure.com',
    retry: { maxRetries: options.maxRetries ?? 3, retryDelayInMs: 10, maxRetryDelayInMs: 100 },
  });
}

/** `count` normalized events (full profile) of varied sizes, as the hub delivers them. */
function hubEvents(count: number, padding: () => number = () => 500 + Math.floor(Math.random() * 4000)): HubEvent[] {
  const contentId = randomUUID();
  return Array.from({ length: count }, (_, i) => {
    const record = {
      CreationTime: '2026-11-20T10:00:00',
      Id: randomUUID(),
      Operation: 'FileDownloaded',
      OrganizationId: TENANT,
      RecordType: 6,
      UserKey: 'i:0h.f|membership|10032000a1b2c3d4@live.com',
      UserType: 0,
      Workload: 'SharePoint',
      ClientIP: '203.0.113.7',
      ObjectId: `https://contoso.sharepoint.com/sites/x/Shared Documents/f${i}.docx`,
      UserId: 'alex@contoso.com',
      SourceFileName: `f${i}.docx`,
      Notes: 'x'.repeat(padding()),
    };
    const event = normalizeRecord(record, {
      source: 'O365ManagementActivity',
      tenantId: TENANT,
      contentType: 'Audit.SharePoint',
      contentId,
      processedTime: '2026-11-20T11:30:00.000Z',
    });
    return {
      body: event,
      enqueuedTime: '2026-11-20T11:30:01.000Z',
      properties: { EnvelopeVersion: '1.0.0', Workload: 'SharePoint' },
      partitionId: '0',
      sequenceNumber: i,
    };
  });
}

function eventIds(events: readonly HubEvent[]): string[] {
  return events.map((e) => (e.body as { EventId: string }).EventId);
}

function acceptedIds(): string[] {
  return ingestion.rows(STREAM).map((r) => r.EventId as string);
}

beforeAll(async () => {
  mi = await startManagedIdentityStandIn({ tenantId: TENANT });
  restoreEnv = pointManagedIdentityAt(mi);
  storage = new StorageClients({ connectionString: inject('azuriteConnectionString') });
  blobs = new AzureBlobStore(storage.blobService());
});

beforeEach(async () => {
  ingestion = await startLogsIngestionStandIn({ tls: serverTls, signingKey: mi.signingKey, ruleId: RULE_ID, streams: [STREAM] });
  logged.length = 0;
  counted.length = 0;
});

afterEach(async () => {
  await ingestion.close();
});

afterAll(async () => {
  restoreEnv();
  await mi.close();
});

describe('forwardEvents against the Logs Ingestion stand-in', () => {
  it('delivers every event exactly once, gzip-compressed, in calls of at most 1 MB', async () => {
    const events = hubEvents(2500);
    const result = await forwardEvents(events, { ingestion: client(), blobs, logger, metrics });

    expect(result).toMatchObject({ received: 2500, forwarded: 2500, quarantined: 0 });
    expect(acceptedIds().sort()).toEqual(eventIds(events).sort());
    const calls = ingestion.calls();
    const sizes = calls.map((c) => c.bodyBytes);
    expect(calls.every((c) => c.status === 204 && c.gzip)).toBe(true);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(CALL_LIMIT_BYTES);
    // ~6 MB of events cannot go in fewer than 6 calls under the limit; the packing fills them.
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(calls.length).toBeGreaterThanOrEqual(Math.ceil(total / CALL_LIMIT_BYTES));
    expect(calls.length).toBeLessThanOrEqual(Math.ceil(total / CALL_LIMIT_BYTES) + 2);
    console.info(`forwarded 2500 events (${total} bytes of JSON) in ${calls.length} calls; largest call ${Math.max(...sizes)} bytes`);
    // The rows carry the columns the Event Hubs path fills besides the envelope.
    const row = ingestion.rows(STREAM)[0]!;
    expect(row).toMatchObject({ EhEnqueuedTime: '2026-11-20T11:30:01.000Z', EhProperties: { Workload: 'SharePoint' }, EnvelopeVersion: '1.0.0' });
    expect(row.Raw).toMatchObject({ Operation: 'FileDownloaded' });
  });

  it('waits out 429 with Retry-After and sends again; nothing lost, nothing doubled', async () => {
    const events = hubEvents(300);
    ingestion.throttle(2, 1);
    const result = await forwardEvents(events, { ingestion: client(), blobs, logger, metrics });

    expect(result.forwarded).toBe(300);
    const calls = ingestion.calls();
    expect(calls.filter((c) => c.status === 429)).toHaveLength(2);
    expect(acceptedIds().sort()).toEqual(eventIds(events).sort());
    // The client waited the second the service asked for before sending again.
    const lastThrottled = Math.max(...calls.filter((c) => c.status === 429).map((c) => c.at));
    const accepted = calls.filter((c) => c.status === 204).map((c) => c.at);
    expect(Math.min(...accepted) - lastThrottled).toBeGreaterThanOrEqual(950);
  });

  it('throws when throttling outlasts the retries, and the trigger\'s retry of the batch delivers every event', async () => {
    const events = hubEvents(200);
    ingestion.throttle(1000, 0);
    const failed = await forwardEvents(events, { ingestion: client({ maxRetries: 1 }), blobs, logger, metrics }, { rounds: 2 }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(TransientError);
    expect((failed as TransientError).code).toBe('Throttled');
    expect(acceptedIds()).toEqual([]);
    expect(logged.filter((l) => l.level === 'warn').map((l) => l.fields?.status)).toEqual([429, 429]);

    ingestion.throttle(0, 0);
    const retried = await forwardEvents(events, { ingestion: client(), blobs, logger, metrics });
    expect(retried.forwarded).toBe(200);
    expect(acceptedIds().sort()).toEqual(eventIds(events).sort());
  });

  it('retries only the rows of a failed call, so a 503 mid-batch doubles nothing', async () => {
    const events = hubEvents(1500);
    ingestion.failNext(5, 503);
    const result = await forwardEvents(events, { ingestion: client({ maxRetries: 1 }), blobs, logger, metrics });
    expect(result.forwarded).toBe(1500);
    expect(ingestion.calls().filter((c) => c.status === 503)).toHaveLength(5);
    expect(acceptedIds().sort()).toEqual(eventIds(events).sort());
  });

  it('quarantines a row the stream refuses, with the reason, and delivers the rest of its call', async () => {
    const events = hubEvents(400);
    const [refused] = eventIds(events.slice(137, 138));
    ingestion.refuseRows((row) => row.EventId === refused);
    const result = await forwardEvents(events, { ingestion: client(), blobs, logger, metrics });

    expect(result).toMatchObject({ received: 400, forwarded: 399, quarantined: 1 });
    expect(acceptedIds().sort()).toEqual(eventIds(events).filter((id) => id !== refused).sort());
    const blob = await storage.blobService().getContainerClient('quarantine').getBlobClient(`${FORWARD_QUARANTINE_PREFIX}/${refused}.json`).downloadToBuffer();
    const kept = JSON.parse(blob.toString('utf8')) as { reason: string; status: number; code: string; sequenceNumber: number; event: { EventId: string } };
    expect(kept).toMatchObject({ status: 400, sequenceNumber: 137, event: { EventId: refused } });
    const error = logged.find((l) => l.level === 'error')!;
    expect(error.fields).toMatchObject({ eventId: refused, status: 400, sequenceNumber: 137 });
    // Logs name the event, never its content.
    expect(JSON.stringify(logged)).not.toContain('contoso.sharepoint.com');
  });

  it('quarantines an event over the call limit and a body that is not JSON without sending them', async () => {
    const events = [...hubEvents(3), ...hubEvents(1, () => CALL_LIMIT_BYTES), { body: Buffer.from('not json'), partitionId: '1', sequenceNumber: 9 }];
    const result = await forwardEvents(events, { ingestion: client(), blobs, logger, metrics });
    expect(result).toMatchObject({ received: 5, forwarded: 3, quarantined: 2 });
    expect(ingestion.calls().every((c) => c.bodyBytes <= CALL_LIMIT_BYTES)).toBe(true);
    const names: string[] = [];
    for await (const b of storage.blobService().getContainerClient('quarantine').listBlobsFlat({ prefix: `${FORWARD_QUARANTINE_PREFIX}/` })) names.push(b.name);
    expect(names).toEqual(expect.arrayContaining([`${FORWARD_QUARANTINE_PREFIX}/${eventIds(events.slice(3, 4))[0]}.json`, `${FORWARD_QUARANTINE_PREFIX}/p1-9.json`]));
  });

  it('fails the batch when the token is not accepted, and sends nothing', async () => {
    const other = await startLogsIngestionStandIn({ tls: serverTls, signingKey: randomBytes(32), ruleId: RULE_ID, streams: [STREAM] });
    try {
      const foreign = new AzureLogsIngestion({ endpoint: other.url, ruleId: RULE_ID, streamName: STREAM, credential: new ManagedIdentityCredential(), audience: 'https://monitor.azure.com', retry: { maxRetries: 0 } });
      const failed = await forwardEvents(hubEvents(5), { ingestion: foreign, blobs, logger, metrics }, { rounds: 1 }).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(TransientError);
      expect(other.calls().map((c) => c.status)).toEqual([401]);
      expect(other.rows(STREAM)).toEqual([]);
    } finally {
      await other.close();
    }
  });
});

describe('forwardToLogAnalytics (the function) over a trigger batch', () => {
  it('maps the trigger metadata onto the events and forwards the batch', async () => {
    const events = hubEvents(20);
    const context = new InvocationContext({
      functionName: 'forwardToLogAnalytics',
      triggerMetadata: {
        enqueuedTimeUtcArray: events.map(() => '2026-11-20T11:30:01Z'),
        propertiesArray: events.map((_, i) => ({ Workload: 'SharePoint', index: String(i) })),
        sequenceNumberArray: events.map((_, i) => 1000 + i),
        partitionContext: { partitionId: '3' },
      },
    });
    // The hub's bodies arrive as text when the trigger does not parse them.
    const wiring = { logsIngestion: client(), blobs } as unknown as Wiring;
    await handleForwardToLogAnalyticsEvents(events.map((e) => JSON.stringify(e.body)), context, wiring);
    const rows = ingestion.rows(STREAM);
    expect(rows.map((r) => r.EventId).sort()).toEqual(eventIds(events).sort());
    expect(rows.find((r) => r.EventId === eventIds(events)[4])).toMatchObject({ EhEnqueuedTime: '2026-11-20T11:30:01.000Z', EhProperties: { index: '4' } });
  });
});
