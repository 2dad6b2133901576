import { describe, expect, it } from 'vitest';
import { MAX_TASK_CHARS, parsePollTask, toPollTask } from '../../../shared/core/pollTask.js';

const TENANT = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const at = Date.parse('2026-11-20T12:00:00Z');

describe('poll tasks', () => {
  it('round-trips a poll, a sweep and a Defender scan task, from text, bytes or a parsed object', () => {
    for (const [kind, contentType] of [['poll', 'Audit.Exchange'], ['sweep', 'DLP.All'], ['security', 'DefenderXDR.Alerts']] as const) {
      const task = toPollTask(kind, { tenantId: TENANT, contentType } as never, at);
      expect(task).toEqual({ v: 1, kind, tenantId: TENANT, contentType, scheduledAt: '2026-11-20T12:00:00.000Z' });
      expect(parsePollTask(JSON.stringify(task))).toEqual({ ok: true, task });
      expect(parsePollTask(Buffer.from(JSON.stringify(task)))).toEqual({ ok: true, task });
      expect(parsePollTask(task)).toEqual({ ok: true, task });
    }
    expect(parsePollTask({ v: 1, kind: 'poll', tenantId: TENANT.toUpperCase(), contentType: 'Audit.General', scheduledAt: 'x' })).toMatchObject({ ok: false });
    expect(parsePollTask({ v: 1, kind: 'poll', tenantId: TENANT.toUpperCase(), contentType: 'Audit.General', scheduledAt: '2026-11-20T12:00:00Z' })).toMatchObject({ ok: true, task: { tenantId: TENANT } });
  });

  it.each([
    ['not JSON', '{"v":1', /not JSON/],
    ['too long', 'x'.repeat(MAX_TASK_CHARS + 1), /over the/],
    ['an array', [], /not a JSON object/],
    ['another version', { v: 2 }, /version/],
    ['an unknown kind', { v: 1, kind: 'delete' }, /kind/],
    ['a tenant that is not a GUID', { v: 1, kind: 'poll', tenantId: 'contoso' }, /GUID/],
    ['an audit kind with a Defender stream', { v: 1, kind: 'poll', tenantId: TENANT, contentType: 'DefenderXDR.Alerts' }, /contentType/],
    ['a Defender scan of an audit stream', { v: 1, kind: 'security', tenantId: TENANT, contentType: 'Audit.Exchange' }, /contentType/],
  ])('refuses %s', (_what, input, reason) => {
    const parsed = parsePollTask(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });
});
