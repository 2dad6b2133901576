import { describe, expect, it } from 'vitest';
import { DAY_MS, DEFAULT_MAX_WINDOW_MS, HOUR_MS, LISTING_RETENTION_MS, MINUTE_MS, planWindows } from '../../../shared/core/windows.js';

const now = Date.parse('2026-11-24T12:00:00.000Z');
const base = { now, settleLagInMs: 10 * MINUTE_MS, overlapInMs: 120 * MINUTE_MS, initialLookbackInMs: 24 * HOUR_MS };

/** Invariants every plan must satisfy, whatever the input. */
function assertWellFormed(plan: ReturnType<typeof planWindows>, input: { now: number }) {
  const earliest = input.now - LISTING_RETENTION_MS;
  let previousEnd: number | undefined;
  for (const w of plan.windows) {
    expect(w.end).toBeGreaterThan(w.start);
    expect(w.end - w.start).toBeLessThanOrEqual(DEFAULT_MAX_WINDOW_MS);
    expect(w.start % 1000).toBe(0);
    expect(w.end % 1000).toBe(0);
    expect(w.start).toBeGreaterThan(earliest); // never at or beyond the 7-day limit
    if (previousEnd !== undefined) expect(w.start).toBe(previousEnd); // contiguous, no holes
    previousEnd = w.end;
  }
  if (plan.windows.length > 0) {
    expect(plan.windows[0]!.start).toBe(plan.from);
    expect(plan.windows.at(-1)!.end).toBe(plan.to);
  }
}

describe('planWindows', () => {
  it('starts a first run at the initial lookback and ends at now − settle lag', () => {
    const plan = planWindows(base);
    expect(plan.from).toBe(now - 24 * HOUR_MS);
    expect(plan.to).toBe(now - 10 * MINUTE_MS);
    expect(plan.windows).toEqual([
      { start: now - 24 * HOUR_MS, end: now - HOUR_MS },
      { start: now - HOUR_MS, end: now - 10 * MINUTE_MS },
    ]);
    expect(plan.gap).toBeUndefined();
  });

  it('re-lists the overlap before the cursor on a steady-state run', () => {
    const cursor = now - 15 * MINUTE_MS;
    const plan = planWindows({ ...base, cursor });
    expect(plan.windows).toEqual([{ start: cursor - 120 * MINUTE_MS, end: now - 10 * MINUTE_MS }]);
    expect(plan.gap).toBeUndefined();
  });

  it('without a cursor, starts at the intended start of a first plan that failed, not at the later now − lookback', () => {
    const intendedStart = now - 54 * HOUR_MS; // the first run was planned 30 h ago and failed
    const plan = planWindows({ ...base, intendedStart });
    expect(plan.from).toBe(intendedStart);
    expect(plan.gap).toBeUndefined();
    assertWellFormed(plan, base);
  });

  it('an intended start older than 7 days is clamped, and the clamped part is a gap', () => {
    const intendedStart = now - 9 * DAY_MS;
    const plan = planWindows({ ...base, intendedStart });
    expect(plan.from).toBe(now - LISTING_RETENTION_MS + 15 * MINUTE_MS);
    expect(plan.gap).toEqual({ start: intendedStart, end: plan.from });
  });

  it('with a cursor, re-lists from the intended start when it is earlier than cursor − overlap (after a subscription start), without a gap', () => {
    const cursor = now - 15 * MINUTE_MS;
    const intendedStart = now - 20 * HOUR_MS;
    const plan = planWindows({ ...base, cursor, intendedStart });
    expect(plan.from).toBe(intendedStart);
    expect(plan.gap).toBeUndefined();
    // A later intended start changes nothing: the overlap already reaches further back.
    expect(planWindows({ ...base, cursor, intendedStart: cursor }).from).toBe(cursor - 120 * MINUTE_MS);
    assertWellFormed(plan, base);
  });

  it('chunks a 3-day catch-up into windows under 24 h that cover everything', () => {
    const cursor = now - 3 * DAY_MS;
    const plan = planWindows({ ...base, cursor });
    assertWellFormed(plan, base);
    expect(plan.from).toBe(cursor - 2 * HOUR_MS);
    const covered = plan.windows.reduce((sum, w) => sum + (w.end - w.start), 0);
    expect(covered).toBe(plan.to - plan.from);
    expect(plan.windows).toHaveLength(4);
    expect(plan.gap).toBeUndefined();
  });

  it('clamps an outage longer than 7 days inside the limit and reports the gap', () => {
    const cursor = now - 10 * DAY_MS;
    const plan = planWindows({ ...base, cursor });
    assertWellFormed(plan, base);
    const earliest = now - LISTING_RETENTION_MS + 15 * MINUTE_MS;
    expect(plan.from).toBe(earliest);
    expect(plan.gap).toEqual({ start: cursor, end: earliest });
  });

  it('does not call it a gap when only the overlap falls outside the limit', () => {
    const cursor = now - LISTING_RETENTION_MS + 20 * MINUTE_MS; // inside the limit; cursor − overlap is not
    const plan = planWindows({ ...base, cursor });
    expect(plan.from).toBe(now - LISTING_RETENTION_MS + 15 * MINUTE_MS);
    expect(plan.gap).toBeUndefined();
  });

  it('plans nothing when the cursor is already at now − settle lag', () => {
    const plan = planWindows({ ...base, overlapInMs: 0, cursor: now - 10 * MINUTE_MS });
    expect(plan.windows).toEqual([]);
  });

  it('floors to whole seconds so the API time format loses nothing', () => {
    const plan = planWindows({ ...base, now: now + 999, cursor: now - 60 * MINUTE_MS + 500 });
    assertWellFormed(plan, { now: now + 999 });
    expect(plan.to).toBe(now - 10 * MINUTE_MS);
  });

  it('honours a custom margin and window size, and rejects a window over 24 h', () => {
    const plan = planWindows({ ...base, cursor: now - 6 * HOUR_MS, overlapInMs: 0, maxWindowInMs: HOUR_MS, retentionMarginInMs: HOUR_MS });
    expect(plan.windows).toHaveLength(6);
    expect(plan.windows.at(-1)).toEqual({ start: now - HOUR_MS, end: now - 10 * MINUTE_MS });
    expect(() => planWindows({ ...base, maxWindowInMs: DAY_MS + 1 })).toThrow(RangeError);
  });

  it('keeps its invariants over many cursors, clocks and settings', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const n = now + Math.floor(random() * DAY_MS);
      const input = {
        now: n,
        cursor: random() < 0.2 ? undefined : n - Math.floor(random() * 12 * DAY_MS),
        settleLagInMs: Math.floor(random() * 60) * MINUTE_MS,
        overlapInMs: Math.floor(random() * 240) * MINUTE_MS,
        initialLookbackInMs: (1 + Math.floor(random() * 167)) * HOUR_MS,
      };
      const plan = planWindows(input);
      assertWellFormed(plan, input);
      // Everything from the cursor to now − settle lag is either planned or reported as a gap.
      if (input.cursor !== undefined && input.cursor < plan.to) {
        const start = Math.floor(input.cursor / 1000) * 1000;
        const covered = plan.gap ? plan.gap.start <= start && plan.gap.end >= plan.from : plan.from <= start;
        expect(covered).toBe(true);
      }
    }
  });
});
