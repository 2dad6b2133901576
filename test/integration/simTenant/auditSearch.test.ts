import { afterEach, describe, expect, it } from 'vitest';
import type { SimTenant } from '../../../tools/standins/simTenant/index.js';
import { CLIENT_ID, DAY, HOUR, SECRET, T0, TENANT, manualClock, startSim, tenantSpec, tokenFor } from './helpers.js';

const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

let sim: SimTenant | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

function audit(s: SimTenant, token: string, version = 'v1.0') {
  const root = `${s.url}/${version}/security/auditLog/queries`;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  return {
    create: (body: Record<string, unknown>) => fetch(root, { method: 'POST', headers, body: JSON.stringify(body) }),
    get: (id: string) => fetch(`${root}/${id}`, { headers }),
    records: (id: string, query = '') => fetch(`${root}/${id}/records${query}`, { headers }),
    fetchUrl: (url: string) => fetch(url, { headers }),
    /** Every record of a succeeded query, following @odata.nextLink. */
    async all(id: string): Promise<{ records: Record<string, unknown>[]; pages: number }> {
      const records: Record<string, unknown>[] = [];
      let res = await this.records(id);
      for (let pages = 1; ; pages++) {
        const body = (await res.json()) as { value: Record<string, unknown>[]; '@odata.nextLink'?: string };
        if (res.status !== 200) throw new Error(`records page failed with ${res.status}: ${JSON.stringify(body)}`);
        records.push(...body.value);
        if (!body['@odata.nextLink']) return { records, pages };
        res = await this.fetchUrl(body['@odata.nextLink']);
      }
    },
  };
}

describe('simulated audit search (Graph /security/auditLog/queries)', () => {
  it('runs a query on the feed clock and serves the records its Management API served, older than the listing window too', async () => {
    const clock = manualClock(T0);
    sim = await startSim({ now: clock.now, tenants: [tenantSpec({ historyStart: T0 - 20 * DAY, blobsPerHour: 2, recordsPerBlob: 5 })] });
    const client = audit(sim, await tokenFor(sim, TENANT, GRAPH_SCOPE));
    const from = T0 - 12 * DAY;
    const to = T0 - 11 * DAY;
    const created = await client.create({ displayName: 'heal', filterStartDateTime: iso(from), filterEndDateTime: iso(to), recordTypeFilters: ['exchangeItem', 'exchangeAdmin'] });
    expect(created.status).toBe(201);
    const query = (await created.json()) as { id: string; status: string };
    expect(query.status).toBe('notStarted');
    expect(((await (await client.records(query.id)).json()) as { error: { code: string } }).error.code).toBe('BadRequest');
    clock.value += MINUTE;
    expect(((await (await client.get(query.id)).json()) as { status: string }).status).toBe('running');
    clock.value += 2 * MINUTE;
    const done = (await (await client.get(query.id)).json()) as { status: string; isRecordCountLimitExceeded: boolean; approximateReturnedRecordCount: number };
    expect(done).toMatchObject({ status: 'succeeded', isRecordCountLimitExceeded: false });

    const { records, pages } = await client.all(query.id);
    expect(pages).toBeGreaterThan(0);
    // The oracle: records of every blob the tenant generated, one per Id, by CreationTime.
    const expected = sim.auditRecords(TENANT, from, to).filter((r) => r.RecordType === 1 || r.RecordType === 2 || r.RecordType === '1' || r.RecordType === '2');
    expect(expected.length).toBeGreaterThan(10);
    expect(records.map((r) => r.id)).toEqual(expected.map((r) => r.Id));
    expect(done.approximateReturnedRecordCount).toBe(expected.length);
    const sample = records[0]!;
    expect(sample).toMatchObject({ '@odata.type': '#microsoft.graph.security.auditLogRecord', service: 'Exchange' });
    expect(['exchangeItem', 'exchangeAdmin']).toContain(sample.auditLogRecordType);
    const { '@odata.type': _type, ...data } = sample.auditData as Record<string, unknown>;
    expect(data).toEqual(expected[0]);
    // Each record is one the Management API served in some blob (the blobs of that week are long expired from the listing).
    const servedIds = new Set<string>();
    for (const contentType of ['Audit.Exchange'] as const) {
      for (const blob of sim.blobs(TENANT, contentType, from, to + 7 * DAY)) for (const r of sim.recordsOf(TENANT, blob.contentId) as { Id: string }[]) servedIds.add(r.Id);
    }
    expect(sim.blobs(TENANT, 'Audit.Exchange', from, to)).toEqual([]);
    expect(sim.auditRecords(TENANT, T0 - 200 * DAY, T0 - 190 * DAY)).toEqual([]);
    expect(sim.auditQueries(TENANT)).toMatchObject([{ id: query.id, status: 'succeeded', recordTypeFilters: ['exchangeItem', 'exchangeAdmin'] }]);
  });

  it('answers zero records, not an error, to an app without an AuditLogsQuery role, and only its workload to a per-service role', async () => {
    const clock = manualClock(T0);
    const apps = [
      { clientId: CLIENT_ID, secret: SECRET, graphRoles: ['SecurityIncident.Read.All'] },
      { clientId: '0f0f0f0f-1111-4222-8333-944444444444', secret: SECRET, graphRoles: ['AuditLogsQuery-Entra.Read.All'] },
    ];
    sim = await startSim({ now: clock.now, tenants: [tenantSpec({ historyStart: T0 - 3 * DAY, blobsPerHour: 2, recordsPerBlob: 5, apps })] });
    const none = audit(sim, await tokenFor(sim, TENANT, GRAPH_SCOPE));
    const entra = audit(sim, await tokenFor(sim, TENANT, GRAPH_SCOPE, apps[1]!.clientId, SECRET));
    const body = { filterStartDateTime: iso(T0 - 2 * DAY), filterEndDateTime: iso(T0 - DAY) };
    const q1 = (await (await none.create(body)).json()) as { id: string };
    const q2 = (await (await entra.create(body)).json()) as { id: string };
    clock.value += 5 * MINUTE;
    expect(((await (await none.get(q1.id)).json()) as { status: string }).status).toBe('succeeded');
    expect((await none.all(q1.id)).records).toEqual([]);
    const entraRecords = (await entra.all(q2.id)).records;
    expect(entraRecords.length).toBeGreaterThan(0);
    expect(new Set(entraRecords.map((r) => r.service))).toEqual(new Set(['AzureActiveDirectory']));
  });

  it('stops a query at its record-count limit and says so', async () => {
    const clock = manualClock(T0);
    sim = await startSim({ now: clock.now, auditSearch: { recordCountLimit: 10, pageSize: 4 }, tenants: [tenantSpec({ historyStart: T0 - 3 * DAY, blobsPerHour: 4, recordsPerBlob: 10 })] });
    const client = audit(sim, await tokenFor(sim, TENANT, GRAPH_SCOPE));
    const q = (await (await client.create({ filterStartDateTime: iso(T0 - 2 * DAY), filterEndDateTime: iso(T0 - DAY) })).json()) as { id: string };
    clock.value += 5 * MINUTE;
    const info = (await (await client.get(q.id)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ status: 'succeeded', isRecordCountLimitExceeded: true, recordCountLimit: 10 });
    expect(info.approximateReturnedRecordCount as number).toBeGreaterThan(10);
    const { records, pages } = await client.all(q.id);
    expect(records).toHaveLength(10);
    expect(pages).toBe(3);
  });

  it('injects its faults: a 500 on the second page, 429 with Retry-After, a failed query, and enforces the submission budget', async () => {
    const clock = manualClock(T0);
    sim = await startSim({ now: clock.now, auditSearch: { pageSize: 5, submissionsPerDay: 2 }, tenants: [tenantSpec({ historyStart: T0 - 3 * DAY, blobsPerHour: 2, recordsPerBlob: 5 })] });
    const client = audit(sim, await tokenFor(sim, TENANT, GRAPH_SCOPE));
    const body = { filterStartDateTime: iso(T0 - 2 * DAY), filterEndDateTime: iso(T0 - 2 * DAY + 6 * HOUR) };
    sim.faults.inject({ op: 'auditQuery', fault: { kind: 'query-failed' } });
    const failing = (await (await client.create(body)).json()) as { id: string };
    const q = (await (await client.create(body)).json()) as { id: string };
    const refused = await client.create(body);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    clock.value += 5 * MINUTE;
    expect(((await (await client.get(failing.id)).json()) as { status: string }).status).toBe('failed');

    sim.faults.inject({ op: 'auditRecords', skip: 1, fault: { kind: 'status', status: 500 } });
    sim.faults.inject({ op: 'auditQueryStatus', fault: { kind: 'status', status: 429, retryAfterSeconds: 7 } });
    const throttled = await client.get(q.id);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('7');
    const first = (await (await client.records(q.id)).json()) as { '@odata.nextLink': string; value: unknown[] };
    expect(first.value).toHaveLength(5);
    expect((await client.fetchUrl(first['@odata.nextLink'])).status).toBe(500);
    const again = await client.fetchUrl(first['@odata.nextLink']);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { value: { id: string }[] }).value[0]!.id).not.toBe((first.value[0] as { id: string }).id);
  });
});
