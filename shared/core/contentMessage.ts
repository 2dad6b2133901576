import { isValidContentId } from './feedUrls.js';
import { isContentType, isGuid, type ContentListing, type ContentType, type StreamKey } from './model.js';

/**
 * The queue message for one content blob: small, versioned, never the content itself.
 * It names the blob; it does not say where to fetch it from — the worker takes the management host
 * from its own configuration for the tenant, so a forged message cannot steer the token elsewhere.
 */
export interface ContentMessage {
  readonly v: 1;
  readonly tenantId: string;
  readonly contentType: ContentType;
  readonly contentId: string;
  /** As listed; the worker checks it against the tenant's feed and rebuilds it from contentId if it must. */
  readonly contentUri: string;
  readonly contentCreated: string;
  readonly contentExpiration: string;
  readonly listedAt: string;
}

/** Storage queue messages are capped at 64 KiB after base64; ours are a few hundred bytes. */
export const MAX_MESSAGE_CHARS = 8 * 1024;

export function toContentMessage(stream: StreamKey, listing: ContentListing, listedAt: number): ContentMessage {
  return {
    v: 1,
    tenantId: stream.tenantId,
    contentType: stream.contentType,
    contentId: listing.contentId,
    contentUri: listing.contentUri,
    contentCreated: listing.contentCreated,
    contentExpiration: listing.contentExpiration,
    listedAt: new Date(listedAt).toISOString(),
  };
}

export function serializeContentMessage(message: ContentMessage): string {
  return JSON.stringify(message);
}

export type ParsedMessage =
  | { readonly ok: true; readonly message: ContentMessage }
  | { readonly ok: false; readonly reason: string; /** What could be read, for quarantine and the ledger. */ readonly partial: Partial<ContentMessage> };

/**
 * Validates a queue message. Accepts the JSON text or the object the Functions host already parsed.
 * Never throws: anything it cannot make sense of comes back with a reason for quarantine.
 */
export function parseContentMessage(input: unknown): ParsedMessage {
  let value: unknown = input;
  if (typeof input === 'string') {
    if (input.length > MAX_MESSAGE_CHARS) return { ok: false, reason: `message is ${input.length} characters, over the ${MAX_MESSAGE_CHARS} limit`, partial: {} };
    try {
      value = JSON.parse(input);
    } catch {
      return { ok: false, reason: 'message is not JSON', partial: {} };
    }
  } else if (input instanceof Uint8Array) {
    return parseContentMessage(Buffer.from(input).toString('utf8'));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'message is not a JSON object', partial: {} };

  const m = value as Record<string, unknown>;
  const partial: Record<string, unknown> = {};
  for (const key of ['tenantId', 'contentType', 'contentId', 'contentUri', 'contentCreated', 'contentExpiration', 'listedAt'] as const) {
    if (typeof m[key] === 'string' && (m[key] as string).length <= 2048) partial[key] = m[key];
  }
  const problems: string[] = [];
  if (m.v !== 1) problems.push(`unsupported version ${JSON.stringify(m.v) ?? 'undefined'} (expected 1)`);
  if (!isGuid(m.tenantId)) problems.push('tenantId is not a GUID');
  if (!isContentType(m.contentType)) problems.push('contentType is not one of the five content types');
  if (!isValidContentId(m.contentId)) problems.push('contentId is missing or has characters a content id never has');
  if (typeof m.contentUri !== 'string' || m.contentUri.length > 2048) problems.push('contentUri is missing or too long');
  for (const key of ['contentCreated', 'contentExpiration', 'listedAt'] as const) {
    if (typeof m[key] !== 'string' || Number.isNaN(Date.parse(m[key] as string))) problems.push(`${key} is not a timestamp`);
  }
  if (problems.length > 0) return { ok: false, reason: problems.join('; '), partial: partial as Partial<ContentMessage> };
  return {
    ok: true,
    message: {
      v: 1,
      tenantId: (m.tenantId as string).toLowerCase(),
      contentType: m.contentType as ContentType,
      contentId: m.contentId as string,
      contentUri: m.contentUri as string,
      contentCreated: m.contentCreated as string,
      contentExpiration: m.contentExpiration as string,
      listedAt: m.listedAt as string,
    },
  };
}
