/** The five content types of the Management Activity API, spelled exactly as the API expects. */
export const CONTENT_TYPES = [
  'Audit.AzureActiveDirectory',
  'Audit.Exchange',
  'Audit.SharePoint',
  'Audit.General',
  'DLP.All',
] as const;

export type ContentType = (typeof CONTENT_TYPES)[number];

export function isContentType(value: unknown): value is ContentType {
  return typeof value === 'string' && (CONTENT_TYPES as readonly string[]).includes(value);
}

/** One (tenant, content type) pair: the unit of discovery, with its own cursor and health. */
export interface StreamKey {
  readonly tenantId: string;
  readonly contentType: ContentType;
}

/**
 * The two Defender XDR streams a tenant with `defenderXdr` enabled polls from Microsoft Graph security:
 * incidents (with their alerts expanded) and alerts (alerts_v2). Their names share the cursor and
 * ledger tables with the audit content types, and never collide with them.
 */
export const SECURITY_STREAMS = ['DefenderXDR.Incidents', 'DefenderXDR.Alerts'] as const;

/** `DefenderXDR.Incidents` or `DefenderXDR.Alerts`. */
export type SecurityStreamName = (typeof SECURITY_STREAMS)[number];

/**
 * One (tenant, Defender XDR stream) pair. The stream name sits in `contentType` so the cursor row
 * (row key), ledger partition (`tenant|name`) and health row key the same way as an audit stream's.
 */
export interface SecurityStreamKey {
  readonly tenantId: string;
  readonly contentType: SecurityStreamName;
}

/** Any stream with a cursor row, ledger rows and a health row: an audit stream or a security stream. */
export type AnyStreamKey = StreamKey | SecurityStreamKey;

/** Whether a stream is one of the Defender XDR streams (its rows are pages, never blobs waiting on the queue). */
export function isSecurityStream(stream: AnyStreamKey): stream is SecurityStreamKey {
  return (SECURITY_STREAMS as readonly string[]).includes(stream.contentType);
}

/** `tenant|contentType` (or `tenant|DefenderXDR.Incidents`), the stable key of a stream in logs and storage. */
export function streamId(stream: AnyStreamKey): string {
  return `${stream.tenantId}|${stream.contentType}`;
}

/** A half-open interval `[start, end)` of `contentCreated` times, in epoch milliseconds. */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

/** One entry of `/subscriptions/content`: a content blob that can be downloaded until it expires. */
export interface ContentListing {
  readonly contentType: string;
  readonly contentId: string;
  readonly contentUri: string;
  /** ISO 8601 as the API sent it (`2015-05-23T17:35:00.000Z`). */
  readonly contentCreated: string;
  readonly contentExpiration: string;
}

/** State of a subscription as `/subscriptions/list` or `/start` reports it. */
export interface SubscriptionInfo {
  readonly contentType: string;
  /** `enabled`, `disabled`, or `unknown` when the API omitted it (Microsoft's own sample does). */
  readonly status: 'enabled' | 'disabled' | 'unknown';
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID.test(value);
}

/** How events are spread over the hub's partitions (PARTITION_KEY_MODE). */
export type PartitionKeyMode = 'content' | 'tenant' | 'none';

// Graph writes `lastUpdateDateTime` with up to 7 fraction digits (`2026-11-20T10:00:00.1234567Z`) and
// trims trailing zeros, so neither a Date (milliseconds) nor string order compares two of them exactly.
const GRAPH_TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** A Graph timestamp as whole UTC seconds plus nanoseconds; undefined when it is not one. */
function graphInstant(text: unknown): { seconds: number; nanos: number; fractionDigits: number } | undefined {
  if (typeof text !== 'string' || text.length > 40) return undefined;
  const match = GRAPH_TIMESTAMP.exec(text);
  if (!match) return undefined;
  const [, dateTime, fraction = '', zone] = match;
  const asUtc = Date.parse(`${dateTime}Z`);
  // Date.parse rolls 2026-02-30 over to March; a real calendar date survives the round trip.
  if (Number.isNaN(asUtc) || new Date(asUtc).toISOString().slice(0, 19) !== dateTime) return undefined;
  const ms = Date.parse(`${dateTime}${zone}`);
  return { seconds: ms / 1000, nanos: Number(fraction.padEnd(9, '0')), fractionDigits: fraction.length };
}

/** Whether `text` is a timestamp as Graph writes them (ISO 8601 with `Z` or an offset, up to 9 fraction digits). */
export function isGraphTimestamp(text: unknown): text is string {
  return graphInstant(text) !== undefined;
}

/** Orders two Graph timestamps exactly (all fraction digits); negative when `a` is earlier. Both must be valid. */
export function compareGraphTimestamps(a: string, b: string): number {
  const x = graphInstant(a);
  const y = graphInstant(b);
  if (!x || !y) throw new RangeError('compareGraphTimestamps: not a Graph timestamp');
  return x.seconds - y.seconds || x.nanos - y.nanos;
}

/**
 * `text` moved back by `ms` milliseconds, in UTC with `Z`, keeping every fraction digit it had (so a
 * cursor of `…00.1234567Z` minus ten minutes is `…50:00.1234567Z`, not a millisecond truncation).
 */
export function graphTimestampMinus(text: string, ms: number): string {
  const instant = graphInstant(text);
  if (!instant) throw new RangeError('graphTimestampMinus: not a Graph timestamp');
  const totalNanos = BigInt(instant.seconds) * 1_000_000_000n + BigInt(instant.nanos) - BigInt(ms) * 1_000_000n;
  const seconds = totalNanos / 1_000_000_000n;
  const nanos = totalNanos % 1_000_000_000n;
  const digits = Math.max(instant.fractionDigits, ms % 1000 === 0 ? 0 : 3);
  const fraction = digits === 0 ? '' : `.${nanos.toString().padStart(9, '0').slice(0, digits)}`;
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}${fraction}Z`;
}
