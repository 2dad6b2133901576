import type { Server } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzureMonitorTelemetry } from '../../../shared/adapters/telemetry/azureMonitor.js';
import type { Telemetry } from '../../../shared/adapters/telemetry/openTelemetry.js';
import { localServerTls } from '../../../tools/local/localPki.js';

// A local stand-in of Application Insights' ingestion endpoint (https, `POST /v2.1/track`, a JSON array of
// envelopes, possibly gzipped): the real Azure Monitor exporter sends to it what Application Insights
// would store as traces (customDimensions) and customMetrics.
interface Envelope {
  name: string;
  tags?: Record<string, string>;
  data: { baseType: string; baseData: { message?: string; severityLevel?: string; properties?: Record<string, string>; metrics?: { name: string; value: number; count?: number }[] } };
}
const received: Envelope[] = [];
let ingestion: Server;
let telemetry: Telemetry;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SECRET = 'Q8k~Zr5aT2mVxq9JpL3nBd7WcF_e1Hs4Yu6Gi0Oo';
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZS5vZmZpY2UuY29tIn0.c2lnbmF0dXJlLWJ5dGVz';

beforeAll(async () => {
  process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = 'true';
  process.env.APPLICATIONINSIGHTS_STATSBEAT_DISABLED = 'true';
  ingestion = createServer(localServerTls(), (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      if (req.url?.startsWith('/v2.1/track')) received.push(...(JSON.parse(body.toString('utf8')) as Envelope[]));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ itemsReceived: 1, itemsAccepted: 1, errors: [] }));
    });
  });
  await new Promise<void>((resolve) => ingestion.listen(0, '127.0.0.1', resolve));
  const { port } = ingestion.address() as AddressInfo;
  telemetry = startAzureMonitorTelemetry({
    connectionString: `InstrumentationKey=00000000-0000-4000-8000-000000000001;IngestionEndpoint=https://127.0.0.1:${port}/`,
    metricIntervalInMs: 60_000,
    offlineStorage: false,
  });
});
afterAll(async () => {
  await telemetry.shutdown();
  await new Promise((r) => ingestion.close(r));
});

describe('telemetry Application Insights understands', () => {
  it('log fields arrive as customDimensions of the trace, with the invocation and its operation id', async () => {
    const logger = telemetry.logger({ invocationId: 'inv-1', functionName: 'ingestContent', traceParent: `00-${TRACE_ID}-00f067aa0ba902b7-01` });
    logger.warn('blob retried', { tenantId: 'contoso', contentType: 'Audit.Exchange', attempt: 2, delivered: false, error: new Error('hub busy') });
    await telemetry.flush();
    const trace = received.find((e) => e.data.baseType === 'MessageData' && e.data.baseData.message === 'blob retried');
    expect(trace, JSON.stringify(received)).toBeDefined();
    expect(trace!.data.baseData.severityLevel).toBe('Warning');
    expect(trace!.data.baseData.properties).toMatchObject({
      tenantId: 'contoso',
      contentType: 'Audit.Exchange',
      attempt: '2',
      delivered: 'false',
      error: 'Error: hub busy',
      InvocationId: 'inv-1',
      FunctionName: 'ingestContent',
    });
    expect(trace!.tags?.['ai.operation.id']).toBe(TRACE_ID);
  });

  it('metrics arrive as customMetrics with their dimensions: counters summed, lags as distributions', async () => {
    const dims = { tenantId: 'contoso', contentType: 'Audit.Exchange' };
    telemetry.metrics.count('blobs.done', 1, dims);
    telemetry.metrics.count('blobs.done', 2, dims);
    telemetry.metrics.count('stream.listingLag.minutes', 12, dims);
    telemetry.metrics.count('stream.listingLag.minutes', 18, dims);
    await telemetry.flush();
    const metrics = received.filter((e) => e.data.baseType === 'MetricData').flatMap((e) => e.data.baseData.metrics!.map((m) => ({ ...m, properties: e.data.baseData.properties })));
    const done = metrics.find((m) => m.name === 'blobs.done');
    expect(done, JSON.stringify(metrics)).toMatchObject({ value: 3, properties: dims });
    const lag = metrics.find((m) => m.name === 'stream.listingLag.minutes');
    expect(lag).toMatchObject({ value: 30, count: 2, properties: dims });
  });

  it('never exports a secret, a token or a record body as an attribute', async () => {
    telemetry.logger().error('token request failed', {
      clientSecret: CLIENT_SECRET,
      authorization: `Bearer ${JWT}`,
      detail: `the service said: token ${JWT} was refused; AccountKey=c2VjcmV0a2V5;SharedAccessKey=abc123=`,
      raw: { Id: 'r1', UserId: 'alice@contoso.com' },
      records: 20,
    });
    await telemetry.flush();
    const text = JSON.stringify(received);
    for (const secret of [CLIENT_SECRET, JWT, 'c2VjcmV0a2V5', 'abc123=', 'alice@contoso.com']) expect(text).not.toContain(secret);
    const trace = received.find((e) => e.data.baseData.message === 'token request failed')!;
    expect(trace.data.baseData.properties).toMatchObject({ clientSecret: '[redacted]', authorization: '[redacted]', raw: '[omitted]', records: '20' });
    expect(trace.data.baseData.properties!.detail).toContain('AccountKey=[redacted]');
  });
});
