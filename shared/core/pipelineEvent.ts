import { ENVELOPE_VERSION, EVENT_ID_NAMESPACE } from './normalize/event.js';
import { uuidV5 } from './uuid.js';

/**
 * The in-band pipeline event: when a content blob ends without its records reaching the hub
 * (expired, missing, failed, poisoned), the hub gets one of these, so SIEM users see the collector's
 * own failures in their console, not only in our logs. It never carries record bodies.
 */
export interface PipelineErrorEvent {
  readonly EnvelopeSchema: 'm365.audit.pipeline';
  readonly EnvelopeVersion: string;
  readonly EventId: string;
  readonly TimeGenerated: string;
  readonly Source: 'm365-audit-ingest';
  readonly EventSchema: 'PipelineError';
  readonly EventType: 'ContentNotDelivered';
  readonly EventResult: 'Failure';
  readonly EventSeverity: 'High' | 'Medium';
  readonly OrganizationId: string;
  readonly SourceContentType: string;
  readonly SourceContentId: string;
  readonly SourceContentCreated?: string;
  readonly SourceContentExpiration?: string;
  /** The ledger status the blob ended in. */
  readonly LedgerStatus: 'expired' | 'missing' | 'failed' | 'poisoned';
  readonly EventResultDetails: string;
  readonly Attempts?: number;
  /** Records already published before the failure (when some were). */
  readonly RecordsPublished?: number;
}

export function pipelineErrorEvent(input: {
  tenantId: string;
  contentType: string;
  contentId: string;
  contentCreated?: string;
  contentExpiration?: string;
  status: PipelineErrorEvent['LedgerStatus'];
  reason: string;
  attempts?: number;
  recordsPublished?: number;
  now: number;
}): PipelineErrorEvent {
  return {
    EnvelopeSchema: 'm365.audit.pipeline',
    EnvelopeVersion: ENVELOPE_VERSION,
    // One event per blob and final status: a redelivered poison message does not add another.
    EventId: uuidV5(`pipeline|${input.tenantId.toLowerCase()}|${input.contentId}|${input.status}`, EVENT_ID_NAMESPACE),
    TimeGenerated: new Date(input.now).toISOString(),
    Source: 'm365-audit-ingest',
    EventSchema: 'PipelineError',
    EventType: 'ContentNotDelivered',
    EventResult: 'Failure',
    // Expired content is lost for good; the others can be replayed while the content has not expired.
    EventSeverity: input.status === 'expired' ? 'High' : 'Medium',
    OrganizationId: input.tenantId.toLowerCase(),
    SourceContentType: input.contentType,
    SourceContentId: input.contentId,
    SourceContentCreated: input.contentCreated,
    SourceContentExpiration: input.contentExpiration,
    LedgerStatus: input.status,
    EventResultDetails: input.reason,
    Attempts: input.attempts,
    RecordsPublished: input.recordsPublished,
  };
}

/**
 * The in-band heal event: when healing a gap from Purview audit search ends (healed, partial,
 * suspicious, unavailable, failed, or off by configuration), the hub gets one of these, so a SIEM sees
 * which ranges were recovered and which were not. Counts only, never record bodies.
 */
export interface PipelineHealEvent {
  readonly EnvelopeSchema: 'm365.audit.pipeline';
  readonly EnvelopeVersion: string;
  readonly EventId: string;
  readonly TimeGenerated: string;
  readonly Source: 'm365-audit-ingest';
  readonly EventSchema: 'PipelineHeal';
  /** `GapHealed` when the range was recovered in full, `GapNotHealed` otherwise. */
  readonly EventType: 'GapHealed' | 'GapNotHealed';
  readonly EventResult: 'Success' | 'Partial' | 'Failure';
  readonly EventSeverity: 'Informational' | 'Medium' | 'High';
  readonly OrganizationId: string;
  readonly SourceContentType: string;
  /** `gap:<gap start>`: the gap record this heal belongs to. */
  readonly SourceContentId: string;
  readonly GapStart: string;
  readonly GapEnd: string;
  readonly GapCause: string;
  readonly HealState: 'healed' | 'partial' | 'suspicious' | 'unavailable' | 'failed' | 'off';
  /** The record time the heal covered. */
  readonly HealFrom?: string;
  readonly HealTo?: string;
  readonly Queries: number;
  readonly Splits: number;
  readonly RecordsFound: number;
  readonly RecordsDelivered: number;
  readonly EventResultDetails: string;
}

export function pipelineHealEvent(input: {
  tenantId: string;
  contentType: string;
  gap: { start: string; end: string; cause: string };
  state: PipelineHealEvent['HealState'];
  from?: string;
  to?: string;
  queries: number;
  splits: number;
  recordsFound: number;
  recordsDelivered: number;
  reason: string;
  now: number;
}): PipelineHealEvent {
  const tenant = input.tenantId.toLowerCase();
  return {
    EnvelopeSchema: 'm365.audit.pipeline',
    EnvelopeVersion: ENVELOPE_VERSION,
    // One event per gap, outcome and count: a heal repeated with the same result does not add another.
    EventId: uuidV5(`heal|${tenant}|${input.contentType}|${input.gap.start}|${input.state}|${input.recordsDelivered}`, EVENT_ID_NAMESPACE),
    TimeGenerated: new Date(input.now).toISOString(),
    Source: 'm365-audit-ingest',
    EventSchema: 'PipelineHeal',
    EventType: input.state === 'healed' ? 'GapHealed' : 'GapNotHealed',
    EventResult: input.state === 'healed' ? 'Success' : input.state === 'partial' ? 'Partial' : 'Failure',
    // Suspicious and partial heals may be completed by fixing a permission; the others leave the range lost.
    EventSeverity: input.state === 'healed' ? 'Informational' : input.state === 'partial' || input.state === 'suspicious' ? 'Medium' : 'High',
    OrganizationId: tenant,
    SourceContentType: input.contentType,
    SourceContentId: `gap:${input.gap.start}`,
    GapStart: input.gap.start,
    GapEnd: input.gap.end,
    GapCause: input.gap.cause,
    HealState: input.state,
    HealFrom: input.from,
    HealTo: input.to,
    Queries: input.queries,
    Splits: input.splits,
    RecordsFound: input.recordsFound,
    RecordsDelivered: input.recordsDelivered,
    EventResultDetails: input.reason,
  };
}
