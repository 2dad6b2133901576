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

/** `tenant|contentType`, the stable key of a stream in logs and storage. */
export function streamId(stream: StreamKey): string {
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
  /** `enabled`, `disabled`, or `unknown` when the API omitted it (the docs' own sample does). */
  readonly status: 'enabled' | 'disabled' | 'unknown';
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID.test(value);
}

/** How events are spread over the hub's partitions (PARTITION_KEY_MODE). */
export type PartitionKeyMode = 'content' | 'tenant' | 'none';
