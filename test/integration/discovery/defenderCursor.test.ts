import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compareGraphTimestamps } from '../../../shared/core/model.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import { startEventHubBroker, type EventHubBroker } from '../../../tools/standins/eventHubBroker/index.js';
import { RecordingLogger } from '../../fakes/ports.js';
import { newTenantId, startHarness, T0, type Harness } from '../harness.js';

/** Defender XDR cursors that cannot lie, against the simulated Graph, Azurite and the Event Hubs test broker. */
const HUB = 'm365-defender-cursor';
let broker: EventHubBroker;
let h: Harness | undefined;
beforeAll(async () => {
  broker = await startEventHubBroker({ hubs: [{ name: HUB, partitionCount: 2 }] });
});
afterAll(() => broker.close());
afterEach(async () => {
  await h?.close();
  h = undefined;
  broker.reset();
});

async function defender(logger = new RecordingLogger()) {
  const tenantId = newTenantId();
  h = await startHarness({
    tenants: [{ tenantId, defenderXdr: true, blobsPerHour: 0, incidentsPerHour: 0, historyStart: T0 - 12 * HOUR_MS }],
    env: { EVENTHUB_CONNECTION: broker.connectionString(), EVENTHUB_NAME: HUB, INITIAL_LOOKBACK_HOURS: '6', O365_CONTENT_TYPES: 'Audit.General' },
    logger,
  });
  return { h, tenantId, logger, alerts: { tenantId, contentType: 'DefenderXDR.Alerts' as const } };
}

/** `id|lastUpdateDateTime` of every alert event that reached the hub, repeats included. */
function arrivedAlerts(): string[] {
  return broker
    .events(HUB)
    .map((e) => JSON.parse(e.body.toString('utf8')) as { SourceContentType: string; EventOriginalUid: string; AdditionalFields?: { LastUpdateDateTime?: string } })
    .filter((e) => e.SourceContentType === 'DefenderXDR.Alerts')
    .map((e) => `${e.EventOriginalUid}|${e.AdditionalFields?.LastUpdateDateTime}`);
}

describe('Defender XDR cursors that cannot lie', () => {
  it('an alert stamped a year ahead is delivered with a warning, the cursor stays within now + 5 min, and later alerts still arrive', async () => {
    const { h, tenantId, logger, alerts } = await defender();
    const first = h.sim.addIncident(tenantId, { createdAt: T0 - HOUR_MS, alerts: 1 });
    await h.pollSecurity();
    const alertId = h.sim.alerts(tenantId).find((a) => a.incidentId === first.id)!.id;
    const future = h.sim.updateAlert(tenantId, alertId, { status: 'inProgress', at: T0 + 365 * DAY_MS, visibleAt: T0 });
    h.clock.advance(5 * MINUTE_MS);
    await h.pollSecurity();
    expect(arrivedAlerts()).toContain(`${alertId}|${future.lastUpdateDateTime}`);
    expect(logger.lines.some((l) => l.level === 'warn' && /in the future/.test(l.message))).toBe(true);
    const cursor = (await h.wiring.cursors.read(alerts))!.state.cursor!;
    expect(compareGraphTimestamps(cursor, new Date(h.clock.now() + 5 * MINUTE_MS).toISOString())).toBeLessThanOrEqual(0);

    h.clock.advance(5 * MINUTE_MS);
    const later = h.sim.addIncident(tenantId, { alerts: 2 });
    h.clock.advance(5 * MINUTE_MS);
    await h.pollSecurity();
    const laterAlerts = h.sim.alerts(tenantId).filter((a) => a.incidentId === later.id);
    expect(laterAlerts).toHaveLength(2);
    for (const a of laterAlerts) expect(arrivedAlerts()).toContain(`${a.id}|${a.lastUpdateDateTime}`);
    // …and the future revision is not sent again on every run.
    expect(arrivedAlerts().filter((r) => r === `${alertId}|${future.lastUpdateDateTime}`)).toHaveLength(1);
  });

  it('a quiet stream does not send the same revision twice across runs', async () => {
    const { h, tenantId } = await defender();
    h.sim.addIncident(tenantId, { createdAt: T0 - 2 * MINUTE_MS, alerts: 3 });
    h.sim.addIncident(tenantId, { createdAt: T0 - 4 * HOUR_MS, alerts: 2 });
    for (let run = 0; run < 4; run++) {
      await h.pollSecurity();
      h.clock.advance(5 * MINUTE_MS);
    }
    const arrived = arrivedAlerts();
    expect(arrived).toHaveLength(5);
    expect(new Set(arrived).size).toBe(5);
    expect(h.sim.stats().servedAlertRevisions.length).toBeGreaterThan(5); // the overlap did re-read them
  });
});
