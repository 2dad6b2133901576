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
