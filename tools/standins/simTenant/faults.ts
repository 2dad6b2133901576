import type { Rng } from './rng.js';
import type { Fault, FaultController, FaultRule, SimOperation, UnusableEntryKind } from './types.js';

const OPERATIONS: readonly (SimOperation | 'graph' | 'any')[] = [
  'any', 'graph', 'metadata', 'token', 'start', 'stop', 'list', 'content', 'blob', 'resources', 'incidents', 'alerts', 'auditQuery', 'auditQueryStatus', 'auditRecords',
];
const GRAPH_OPERATIONS: ReadonlySet<SimOperation> = new Set(['incidents', 'alerts', 'auditQuery', 'auditQueryStatus', 'auditRecords']);

/** Faults decided before a request is handled (they replace or delay the normal answer). */
export const PRE_FAULTS: ReadonlySet<Fault['kind']> = new Set(['status', 'af429-403', 'reset', 'slow', 'malformed-json', 'non-json-error']);
/** Faults decided before a Graph request is handled (AF codes are the activity API's, not Graph's). */
export const GRAPH_PRE_FAULTS: ReadonlySet<Fault['kind']> = new Set(['status', 'reset', 'slow', 'malformed-json', 'non-json-error']);
/** Faults that only make sense on a `/subscriptions/content` page that is about to be served. */
export const LISTING_FAULTS: ReadonlySet<Fault['kind']> = new Set(['wrong-host-uri', 'foreign-next-page', 'truncated-page', 'unusable-entry']);
/** The entries an `unusable-entry` fault can serve. */
export const UNUSABLE_ENTRY_KINDS: readonly UnusableEntryKind[] = ['space-in-id', 'slash-in-id', 'foreign-type', 'bad-created', 'not-object', 'no-uri', 'no-expiration'];
/** Faults that only make sense on a Graph page that is about to be served. */
export const GRAPH_PAGE_FAULTS: ReadonlySet<Fault['kind']> = new Set(['foreign-next-page', 'truncated-page']);
/** Faults that replace the answer instead of delaying or altering it. */
export const REJECTING_FAULTS: ReadonlySet<Fault['kind']> = new Set(['status', 'af429-403', 'reset', 'non-json-error', 'stale-next-page']);

interface Armed {
  rule: FaultRule;
  remaining: number;
  /** Matching requests still to let through. */
  skip: number;
}

/** Fault rules in injection order; the first armed rule that matches a request fires. */
export class Faults implements FaultController {
  private rules: Armed[] = [];

  /** `rng` draws the `probability` rolls, so soak runs are reproducible under a seed; `now` is the feed clock. */
  constructor(
    private readonly rng: Rng,
    private readonly now: () => number = Date.now,
  ) {}

  inject(rule: FaultRule): void {
    const problem = validate(rule);
    if (problem) throw new Error(`Invalid fault rule: ${problem}`);
    const copy = structuredClone(rule);
    const windowed = rule.activeFrom !== undefined || rule.activeUntil !== undefined;
    this.rules.push({ rule: copy, remaining: rule.times ?? (rule.probability === undefined && !windowed ? 1 : Infinity), skip: rule.skip ?? 0 });
  }

  clear(): void {
    this.rules = [];
  }

  pending(): FaultRule[] {
    return this.rules.map(({ rule, remaining, skip }) => ({ ...structuredClone(rule), times: remaining, ...(rule.skip === undefined ? {} : { skip }) }));
  }

  /** Fires (and counts down) the first armed rule of one of `kinds` that matches the request, if any. */
  take(op: SimOperation, tenantId: string | undefined, kinds: ReadonlySet<Fault['kind']>): Fault | undefined {
    const now = this.now();
    for (let i = 0; i < this.rules.length; i++) {
      const armed = this.rules[i]!;
      const { rule } = armed;
      if (rule.activeUntil !== undefined && now >= rule.activeUntil) {
        this.rules.splice(i--, 1);
        continue;
      }
      if (!kinds.has(rule.fault.kind)) continue;
      if (rule.activeFrom !== undefined && now < rule.activeFrom) continue;
      if (rule.op !== undefined && rule.op !== 'any' && rule.op !== op && !(rule.op === 'graph' && GRAPH_OPERATIONS.has(op))) continue;
      if (rule.tenantId !== undefined && rule.tenantId.toLowerCase() !== tenantId) continue;
      if (armed.skip > 0) {
        armed.skip--;
        continue;
      }
      if (rule.probability !== undefined && this.rng.next() >= rule.probability) continue;
      if (--armed.remaining <= 0) this.rules.splice(i, 1);
      return rule.fault;
    }
    return undefined;
  }
}

function validate(rule: FaultRule): string | undefined {
  if (typeof rule !== 'object' || rule === null || typeof rule.fault !== 'object' || rule.fault === null) return 'a rule needs a fault object';
  if (rule.op !== undefined && !OPERATIONS.includes(rule.op)) return `unknown op ${JSON.stringify(rule.op)}`;
  if (rule.tenantId !== undefined && typeof rule.tenantId !== 'string') return 'tenantId must be a string';
  if (rule.times !== undefined && !(Number.isInteger(rule.times) && rule.times > 0)) return 'times must be a positive integer';
  if (rule.skip !== undefined && !(Number.isInteger(rule.skip) && rule.skip >= 0)) return 'skip must be an integer ≥ 0';
  if (rule.probability !== undefined && !(rule.probability > 0 && rule.probability <= 1)) return 'probability must be in (0, 1]';
  for (const key of ['activeFrom', 'activeUntil'] as const) if (rule[key] !== undefined && !Number.isFinite(rule[key])) return `${key} must be epoch milliseconds`;
  if (rule.activeFrom !== undefined && rule.activeUntil !== undefined && rule.activeUntil <= rule.activeFrom) return 'activeUntil must be after activeFrom';
  const f = rule.fault;
  switch (f.kind) {
    case 'status':
      if (![401, 429, 500, 502, 503, 504, 408].includes(f.status)) return 'status must be 401, 429, 500, 502, 503, 504 or 408';
      if (f.code !== undefined && !['AF429', 'AF50000', 'AF50005'].includes(f.code)) return 'code must be AF429, AF50000 or AF50005';
      if (f.retryAfterSeconds !== undefined && !(Number.isInteger(f.retryAfterSeconds) && f.retryAfterSeconds >= 0)) return 'retryAfterSeconds must be an integer ≥ 0';
      return undefined;
    case 'slow':
      return Number.isFinite(f.delayInMs) && f.delayInMs >= 0 ? undefined : 'delayInMs must be a number ≥ 0';
    case 'non-json-error':
      return Number.isInteger(f.status) && f.status >= 400 && f.status <= 599 ? undefined : 'status must be an HTTP error status';
    case 'unusable-entry':
      return UNUSABLE_ENTRY_KINDS.includes(f.entry) ? undefined : `entry must be one of ${UNUSABLE_ENTRY_KINDS.join(', ')}`;
    case 'af429-403':
    case 'reset':
    case 'malformed-json':
    case 'wrong-host-uri':
    case 'foreign-next-page':
    case 'stale-next-page':
    case 'truncated-page':
    case 'query-failed':
      return undefined;
    default:
      return `unknown fault kind ${JSON.stringify((f as { kind?: unknown }).kind)}`;
  }
}
