import type { Fault, SimOperation, SimRequest, SimStats } from './types.js';

const empty = (): SimStats => ({
  requests: {},
  totals: {},
  rejectedByFaults: 0,
  faultsApplied: {},
  af429: 0,
  throttled: 0,
  startsWithinCooldown: 0,
  servedBlobIds: [],
  servedIncidentRevisions: [],
  servedAlertRevisions: [],
  servedAuditRecordIds: [],
});

/** Accumulates {@link SimStats}; snapshots are deep copies, so callers can keep them. */
export class StatsRecorder {
  private s = empty();

  /** One answered request; `outcome` is the HTTP status or 'reset'. */
  request(tenant: string, op: SimOperation, outcome: string): void {
    const byOp = (this.s.requests[tenant] ??= {});
    const byOutcome = (byOp[op] ??= {});
    byOutcome[outcome] = (byOutcome[outcome] ?? 0) + 1;
    this.s.totals[op] = (this.s.totals[op] ?? 0) + 1;
  }

  fault(kind: Fault['kind'], rejected: boolean): void {
    this.s.faultsApplied[kind] = (this.s.faultsApplied[kind] ?? 0) + 1;
    if (rejected) this.s.rejectedByFaults++;
  }

  af429(): void {
    this.s.af429++;
  }

  /** An AF429 answered by the request throttle (counted in {@link af429} too). */
  throttled(): void {
    this.s.throttled = (this.s.throttled ?? 0) + 1;
  }

  startWithinCooldown(): void {
    this.s.startsWithinCooldown++;
  }

  servedBlob(contentId: string): void {
    this.s.servedBlobIds.push(contentId);
  }

  /** Revisions (`id|lastUpdateDateTime`) on a Graph page that was answered with 200. */
  servedRevisions(op: 'incidents' | 'alerts', revisions: readonly string[]): void {
    (op === 'incidents' ? this.s.servedIncidentRevisions : this.s.servedAlertRevisions).push(...revisions);
  }

  /** Record ids on an audit records page that was answered with 200. */
  servedAuditRecords(ids: readonly string[]): void {
    this.s.servedAuditRecordIds.push(...ids);
  }

  snapshot(): SimStats {
    return structuredClone(this.s);
  }

  reset(): void {
    this.s = empty();
  }
}

/** The most recent requests (bounded), for tests that check the shape of every call a client makes. */
export class RequestLog {
  private readonly items: SimRequest[] = [];
  constructor(private readonly limit = 10_000) {}

  record(entry: SimRequest): void {
    this.items.push(entry);
    if (this.items.length > this.limit) this.items.splice(0, this.items.length - this.limit);
  }

  entries(): SimRequest[] {
    return structuredClone(this.items);
  }

  clear(): void {
    this.items.length = 0;
  }
}
