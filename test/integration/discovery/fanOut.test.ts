import { InvocationContext } from '@azure/functions';
import { afterEach, describe, expect, it } from 'vitest';
import { handlePollContentTimer } from '../../../functions/pollContent.js';
import { handlePollSecurityTimer } from '../../../functions/pollSecurity.js';
import { handlePollStreamMessage } from '../../../functions/pollStream.js';
import { handleSweepContentTimer } from '../../../functions/sweepContent.js';
import { HOUR_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import { listedIds, newTenantId, startHarness, T0, type Harness } from '../harness.js';

/** Discovery fans out: the timers enqueue one task per stream on the poll-task queue, `pollStream` runs each. */
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const lines: { level: string; text: string }[] = [];
const context = () => new InvocationContext({ functionName: 'test', invocationId: 'test', logHandler: (level, ...args) => void lines.push({ level, text: args.map(String).join(' ') }) });
const timer = (next?: number) => ({ isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: next === undefined ? '' : new Date(next).toISOString(), lastUpdated: '' } });

async function visibleTasks(harness: Harness): Promise<number> {
  const props = await harness.wiring.storage.queue(harness.config.pollQueueName).peekMessages({ numberOfMessages: 32 });
  return props.peekedMessageItems.length;
}

describe('discovery fan-out over the poll-task queue', () => {
  it('pollContent enqueues one poll task per stream; the queue-triggered poller polls each, and every blob is enqueued', async () => {
    const a = newTenantId();
    const b = newTenantId();
    h = await startHarness({ tenants: [{ tenantId: a, blobsPerHour: 4 }, { tenantId: b, blobsPerHour: 4 }], env: { O365_CONTENT_TYPES: 'Audit.Exchange,Audit.SharePoint', INITIAL_LOOKBACK_HOURS: '4' } });
    await handlePollContentTimer(timer(), context(), h.wiring);
    expect(await visibleTasks(h)).toBe(4);
    expect(h.sim.requestLog().filter((r) => r.op === 'content')).toEqual([]); // the timer itself lists nothing
    expect(await h.runPollTasks()).toBe(4);
    const queued = (await h.drainQueue()).map((m) => m.contentId).sort();
    const expected = [a, b].flatMap((t) => (['Audit.Exchange', 'Audit.SharePoint'] as const).flatMap((ct) => listedIds(h!.sim, t, ct, T0 - 4 * HOUR_MS, T0 - 10 * MINUTE_MS))).sort();
    expect(queued).toEqual(expected);
    for (const tenantId of [a, b]) expect((await h.wiring.cursors.read({ tenantId, contentType: 'Audit.SharePoint' }))?.state).toMatchObject({ cursor: new Date(T0 - 10 * MINUTE_MS).toISOString(), consecutiveFailures: 0 });
  });

  it('sweepContent spreads the sweep tasks over the interval to the next firing with visibility delays', async () => {
    const tenantId = newTenantId();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 2 }], env: { O365_CONTENT_TYPES: 'Audit.Exchange,Audit.SharePoint,Audit.General', INITIAL_LOOKBACK_HOURS: '2' } });
    await handlePollContentTimer(timer(), context(), h.wiring);
    await h.runPollTasks();
    await handleSweepContentTimer(timer(Date.now() + 10 * 60_000), context(), h.wiring);
    // Delays 0, 160 s and 320 s (three streams over 80 % of ten minutes): only the first is visible now.
    expect(await visibleTasks(h)).toBe(1);
    expect(await h.runPollTasks()).toBe(1);
    expect(await h.wiring.sweeps.read({ tenantId, contentType: 'Audit.Exchange' })).toMatchObject({ lastOutcome: 'complete', blobsFound: 0 });
  });

  it('pollSecurity enqueues a scan task per Defender XDR stream; the poller scans each', async () => {
    const tenantId = newTenantId();
    h = await startHarness({ tenants: [{ tenantId, defenderXdr: true, blobsPerHour: 0, incidentsPerHour: 0 }], env: { O365_CONTENT_TYPES: 'Audit.General', INITIAL_LOOKBACK_HOURS: '3' } }); // nothing to publish: this harness has no hub
    await handlePollSecurityTimer(timer(), context(), h.wiring);
    expect(await h.runPollTasks()).toBe(2);
    for (const contentType of ['DefenderXDR.Incidents', 'DefenderXDR.Alerts'] as const) {
      expect((await h.wiring.cursors.read({ tenantId, contentType }))?.state.lastSuccessAt).toBe(new Date(T0).toISOString());
    }
  });

  it('a task that is not one, or names a stream that is not configured, is dropped with a log line and never retried', async () => {
    const tenantId = newTenantId();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 1 }], env: { O365_CONTENT_TYPES: 'Audit.Exchange' } });
    lines.length = 0;
    await expect(handlePollStreamMessage('{"v":1,"kind":"poll"', context(), h.wiring)).resolves.toBeUndefined();
    await expect(handlePollStreamMessage({ v: 1, kind: 'poll', tenantId: newTenantId(), contentType: 'Audit.Exchange', scheduledAt: new Date(T0).toISOString() }, context(), h.wiring)).resolves.toBeUndefined();
    await expect(handlePollStreamMessage({ v: 1, kind: 'sweep', tenantId, contentType: 'Audit.General', scheduledAt: new Date(T0).toISOString() }, context(), h.wiring)).resolves.toBeUndefined();
    expect(lines.filter((l) => l.level === 'error' && /not a valid task/.test(l.text))).toHaveLength(1);
    expect(lines.filter((l) => l.level === 'warning' && /not configured/.test(l.text))).toHaveLength(2);
    expect(h.sim.requestLog().filter((r) => r.op === 'content')).toEqual([]);
  });
});
