import { HttpRequest, InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { handlePollSecurityTimer } from '../../../functions/pollSecurity.js';
import { handleReconcileTimer } from '../../../functions/reconcile.js';
import { handleStatusRequest } from '../../../functions/status.js';
import type { SecurityStreamKey } from '../../../shared/core/model.js';
import { HOUR_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import type { SimTenantOptions } from '../../../tools/standins/simTenant/index.js';
import { newTenantId, T0 } from '../harness.js';
import { startDeliveryStack } from '../setup.js';

const HUB = 'm365-defender';
const { broker, startHarness } = await startDeliveryStack(HUB, 4);

interface HubEvent {
  EventId: string;
  EventOriginalUid: string;
  SourceContentType: string;
  IncidentId?: string;
  AlertStatus: string;
  AlertOriginalStatus?: string;
  EventSeverity: string;
  TimeGenerated: string;
  AdditionalFields?: { LastUpdateDateTime?: string };
}

/** A tenant with Defender XDR on (and no audit content), the simulated tenant, Azurite and the broker. */
async function defender(spec: { incidentsPerHour?: number } = {}, sim: Partial<SimTenantOptions> = {}) {
  const tenantId = newTenantId();
  const h = await startHarness({
    tenants: [{ tenantId, defenderXdr: true, blobsPerHour: 0, incidentsPerHour: spec.incidentsPerHour ?? 0, historyStart: T0 - 12 * HOUR_MS }],
    sim,
    env: { INITIAL_LOOKBACK_HOURS: '6', O365_CONTENT_TYPES: 'Audit.General' },
  });
  const incidents: SecurityStreamKey = { tenantId, contentType: 'DefenderXDR.Incidents' };
  const alerts: SecurityStreamKey = { tenantId, contentType: 'DefenderXDR.Alerts' };
  return { h, tenantId, incidents, alerts };
}

function hubEvents(): (HubEvent & { partitionKey?: string; partitionId: string; messageId?: unknown; properties?: Record<string, unknown> })[] {
  return broker.events(HUB).map((e) => ({ ...(JSON.parse(e.body.toString('utf8')) as HubEvent), partitionKey: e.partitionKey, partitionId: e.partitionId, messageId: e.messageId, properties: e.properties }));
}

/** `id|lastUpdateDateTime` of every revision that reached the hub, per stream. */
function arrivedRevisions(stream: 'DefenderXDR.Incidents' | 'DefenderXDR.Alerts'): Set<string> {
  return new Set(hubEvents().filter((e) => e.SourceContentType === stream).map((e) => `${e.EventOriginalUid}|${e.AdditionalFields?.LastUpdateDateTime}`));
}

function missing(served: readonly string[], arrived: Set<string>): string[] {
  return [...new Set(served)].filter((r) => !arrived.has(r));
}

const context = () => new InvocationContext({ functionName: 'test', invocationId: 'test', logHandler: () => undefined });
const timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };

describe('Defender XDR end to end: simulated Graph → pollSecurity → Event Hubs broker', () => {
  it('every incident and alert revision the simulator served arrives, over many pages, partitioned by incident', async () => {
    const { h, tenantId, incidents, alerts } = await defender({ incidentsPerHour: 5 }, { graphMaxPageSize: 4 });
    await handlePollSecurityTimer(timer, context(), h.wiring);
    // The timer enqueues one scan task per stream; the queue-triggered poller runs them.
    expect(await h.runPollTasks()).toBe(2);

    const stats = h.sim.stats();
    expect(stats.servedIncidentRevisions.length).toBeGreaterThan(20);
    expect(stats.servedAlertRevisions.length).toBeGreaterThan(30);
    expect(missing(stats.servedIncidentRevisions, arrivedRevisions('DefenderXDR.Incidents'))).toEqual([]);
    expect(missing(stats.servedAlertRevisions, arrivedRevisions('DefenderXDR.Alerts'))).toEqual([]);
    // Every entity updated in the lookback was served (nothing the service had was skipped).
    const lookback = T0 - 6 * HOUR_MS;
    const expectedIncidents = h.sim.incidents(tenantId).filter((i) => Date.parse(i.lastUpdateDateTime) >= lookback).map((i) => `${i.id}|${i.lastUpdateDateTime}`);
    expect(missing(expectedIncidents, arrivedRevisions('DefenderXDR.Incidents'))).toEqual([]);
    expect(h.sim.requestLog().filter((r) => r.op === 'incidents').length).toBeGreaterThan(5);

    for (const e of hubEvents()) {
      expect(e.messageId).toBe(e.EventId);
      expect(e.partitionKey).toBe(e.IncidentId);
      expect(e.properties).toMatchObject({ Source: 'DefenderXDR', EventSchema: 'AlertEvent', OrganizationId: tenantId });
    }
    // One incident's events share one partition, so its revisions and alerts stay in order.
    const partitions = new Map<string, Set<string>>();
    for (const e of hubEvents()) partitions.set(e.IncidentId!, (partitions.get(e.IncidentId!) ?? new Set()).add(e.partitionId));
    for (const ids of partitions.values()) expect(ids.size).toBe(1);

    // The cursor is the newest revision served, verbatim; each page has a done ledger row with its count.
    const newest = [...stats.servedIncidentRevisions].map((r) => r.split('|')[1]!).sort().at(-1);
    expect((await h.wiring.cursors.read(incidents))?.state).toMatchObject({ cursor: newest, consecutiveFailures: 0 });
    const rows = [];
    for await (const row of h.wiring.ledger.query(incidents, {})) rows.push(row);
    expect(rows.every((r) => r.status === 'done')).toBe(true);
    expect(rows.reduce((sum, r) => sum + (r.records ?? 0), 0)).toBe(stats.servedIncidentRevisions.length);
    expect((await h.wiring.cursors.read(alerts))?.state.lastSuccessAt).toBe(new Date(T0).toISOString());
  });

  it('an incident updated twice arrives as three revisions with distinct EventIds, in order on its partition', async () => {
    const { h, tenantId, incidents } = await defender();
    const incident = h.sim.addIncident(tenantId, { createdAt: T0 - HOUR_MS, alerts: 2 });
    await h.pollSecurity();
    h.clock.advance(5 * MINUTE_MS);
    h.sim.updateIncident(tenantId, incident.id, { severity: 'high', assignedTo: 'analyst@contoso.example' });
    await h.pollSecurity();
    h.clock.advance(5 * MINUTE_MS);
    h.sim.updateIncident(tenantId, incident.id, { status: 'resolved', classification: 'truePositive', determination: 'phishing' });
    const [final] = await h.pollSecurity();
    expect(final).toMatchObject({ outcome: 'complete' });

    const revisions = hubEvents().filter((e) => e.SourceContentType === 'DefenderXDR.Incidents' && e.EventOriginalUid === incident.id);
    const distinct = [...new Map(revisions.map((e) => [e.EventId, e])).values()];
    expect(distinct).toHaveLength(3);
    expect(distinct.map((e) => [e.AlertStatus, e.AlertOriginalStatus])).toEqual([
      ['Active', 'active'],
      ['Active', 'active'],
      ['Closed', 'resolved'],
    ]);
    expect(distinct.slice(1).map((e) => e.EventSeverity)).toEqual(['High', 'High']);
    expect(distinct.map((e) => e.TimeGenerated)).toEqual([...distinct.map((e) => e.TimeGenerated)].sort());
    expect(new Set(revisions.map((e) => e.partitionId)).size).toBe(1);
    // Resolving the incident made a new revision of each alert, which arrived too.
    const resolvedAlerts = hubEvents().filter((e) => e.SourceContentType === 'DefenderXDR.Alerts' && e.AlertOriginalStatus === 'resolved');
    expect(resolvedAlerts).toHaveLength(2);
    expect((await h.wiring.cursors.read(incidents))?.state.cursor).toBe(h.sim.incidents(tenantId)[0]!.lastUpdateDateTime);
  });

  it('throttling (429 with Retry-After) is honoured: the same page is asked again and nothing is lost', async () => {
    const { h, tenantId } = await defender({ incidentsPerHour: 3 }, { graphMaxPageSize: 5 });
    h.sim.faults.inject({ op: 'graph', skip: 2, times: 2, fault: { kind: 'status', status: 429, retryAfterSeconds: 1 } });
    const results = await h.pollSecurity();
    expect(results.map((r) => r.outcome)).toEqual(['complete', 'complete']);
    const log = h.sim.requestLog().filter((r) => r.op === 'incidents' || r.op === 'alerts');
    const throttledAt = log.flatMap((r, i) => (r.outcome === '429' ? [i] : []));
    expect(throttledAt).toHaveLength(2);
    // Each throttled request is repeated as it was (same page), and the repeat succeeds.
    for (const i of throttledAt) {
      const retry = log.slice(i + 1).find((r) => r.op === log[i]!.op && r.outcome !== '429')!;
      expect(retry).toMatchObject({ path: log[i]!.path, query: log[i]!.query, outcome: '200' });
    }
    const stats = h.sim.stats();
    expect(missing(stats.servedIncidentRevisions, arrivedRevisions('DefenderXDR.Incidents'))).toEqual([]);
    expect(missing(stats.servedAlertRevisions, arrivedRevisions('DefenderXDR.Alerts'))).toEqual([]);
    expect(h.sim.incidents(tenantId).length).toBeGreaterThan(0);
  });

  it('a 500 on page 3 past the retries leaves the cursor unchanged; the rerun delivers everything', async () => {
    const { h, tenantId, incidents } = await defender({ incidentsPerHour: 2 }, { graphMaxPageSize: 3 });
    await h.pollSecurity();
    const before = (await h.wiring.cursors.read(incidents))!.state;
    h.clock.advance(30 * MINUTE_MS);
    for (let i = 0; i < 10; i++) h.sim.addIncident(tenantId, { createdAt: T0 + (i + 1) * MINUTE_MS, alerts: 1 });
    h.sim.resetStats();
    h.sim.faults.inject({ op: 'incidents', skip: 2, times: 4, fault: { kind: 'status', status: 500 } });

    const [failed, alertsResult] = await h.pollSecurity();
    expect(failed).toMatchObject({ outcome: 'failed', pages: 2 });
    expect(alertsResult).toMatchObject({ outcome: 'complete' });
    const afterFailure = (await h.wiring.cursors.read(incidents))!.state;
    expect(afterFailure).toMatchObject({ cursor: before.cursor, lastSuccessAt: before.lastSuccessAt, consecutiveFailures: 1, lastErrorCode: 'ServiceUnavailable' });
    expect(afterFailure.lastError).toMatch(/HTTP 500/);
    expect(h.sim.stats().requests[tenantId]?.incidents).toMatchObject({ 500: 4 });

    h.clock.advance(5 * MINUTE_MS);
    const [rerun] = await h.pollSecurity();
    expect(rerun).toMatchObject({ outcome: 'complete', since: failed!.since });
    const arrived = arrivedRevisions('DefenderXDR.Incidents');
    expect(missing(h.sim.stats().servedIncidentRevisions, arrived)).toEqual([]);
    for (const incident of h.sim.incidents(tenantId).filter((i) => Date.parse(i.lastUpdateDateTime) > T0)) expect(arrived.has(`${incident.id}|${incident.lastUpdateDateTime}`)).toBe(true);
    const after = (await h.wiring.cursors.read(incidents))!.state;
    expect(after).toMatchObject({ consecutiveFailures: 0 });
    expect(after.cursor! > before.cursor!).toBe(true);
  });

  it('refuses a next link to a foreign host: the stream fails with ForeignHost and its cursor does not move', async () => {
    const { h, incidents, alerts } = await defender({ incidentsPerHour: 2 }, { graphMaxPageSize: 3 });
    h.sim.faults.inject({ op: 'incidents', fault: { kind: 'foreign-next-page' } });
    const [refused, other] = await h.pollSecurity();
    expect(refused).toMatchObject({ outcome: 'failed', pages: 1 });
    expect(refused!.reason).toMatch(/ForeignHost: .*host evil\.example is not the configured Graph host/);
    expect(other).toMatchObject({ outcome: 'complete' });
    const state = (await h.wiring.cursors.read(incidents))!.state;
    expect(state).toMatchObject({ lastErrorCode: 'ForeignHost', consecutiveFailures: 1 });
    expect(state.cursor).toBeUndefined();
    expect((await h.wiring.cursors.read(alerts))!.state.cursor).toBeDefined();

    const [retried] = await h.pollSecurity();
    expect(retried).toMatchObject({ outcome: 'complete' });
    expect(missing(h.sim.stats().servedIncidentRevisions, arrivedRevisions('DefenderXDR.Incidents'))).toEqual([]);
  });

  it('reconcile and the status function cover the Defender XDR streams', async () => {
    const { h, tenantId } = await defender({ incidentsPerHour: 2 });
    await h.pollSecurity();
    await handleReconcileTimer(timer, context(), h.wiring);
    const response = await handleStatusRequest(new HttpRequest({ url: 'http://localhost/api/status', method: 'GET' }), context(), h.wiring);
    const body = response.jsonBody as { streams: Array<{ tenantId: string; contentType: string; state: string; cursor?: string; health?: { counts: Record<string, number> } }> };
    const security = body.streams.filter((s) => s.contentType.startsWith('DefenderXDR.'));
    expect(security.map((s) => s.contentType).sort()).toEqual(['DefenderXDR.Alerts', 'DefenderXDR.Incidents']);
    for (const stream of security) {
      expect(stream).toMatchObject({ tenantId, state: 'ok' });
      expect(stream.cursor).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/);
      expect(stream.health!.counts.done).toBeGreaterThan(0);
    }
  });
});
