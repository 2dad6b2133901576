export { normalizeRecord } from './normalizeRecord.js';
export { serializeElement, serializeEvent, serializeRecord, type SerializedEvent, type SerializeOptions } from './serialize.js';
export { buildEvent } from './normalizeRecord.js';
export { CARRIED_BY } from './compact.js';
export {
  AUDIT_RECORD_IDENTITY,
  ENVELOPE_SCHEMA,
  ENVELOPE_VERSION,
  EVENT_ID_NAMESPACE,
  type AuditRecordSource,
  type EventProfile,
  type EventResult,
  type EventSchema,
  type EventSeverity,
  type NormalizeContext,
  type NormalizedEvent,
  type NormalizeOptions,
} from './event.js';
