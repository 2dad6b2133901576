export { normalizeRecord } from './normalizeRecord.js';
export {
  ENVELOPE_SCHEMA,
  ENVELOPE_VERSION,
  EVENT_ID_NAMESPACE,
  type EventResult,
  type EventSchema,
  type EventSeverity,
  type NormalizeContext,
  type NormalizedEvent,
  type NormalizeOptions,
} from './event.js';
