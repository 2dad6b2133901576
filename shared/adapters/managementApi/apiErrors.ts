import { PermanentError, TransientError, type IngestError, type PermanentCode } from '../../core/errors.js';

/**
 * Translates a failed Management Activity API response into the pipeline's error taxonomy.
 * The HTTP status alone does not tell conditions apart (most are 400, and throttling arrives as 403
 * in Microsoft's own example), so the AF code in the body decides; the status is the fallback.
 */

/** What the API said, as far as it could be read. */
export interface ApiFailure {
  readonly httpStatus: number;
  /** The `error.code` of a JSON error body, e.g. `AF20022`. */
  readonly afCode?: string;
  /** The `error.message`: API text without secrets (it may name content ids and tenant ids). */
  readonly apiMessage?: string;
  readonly retryAfterInMs?: number;
  /** Whether the body was JSON of the documented error shape. */
  readonly documentedBody: boolean;
}

const PERMANENT_CODES: Readonly<Record<string, { code: PermanentCode; hint: string }>> = {
  AF10001: { code: 'PermissionMissing', hint: 'the token lacks the ActivityFeed.Read application permission; grant it and admin consent' },
  AF20001: { code: 'BadRequest', hint: 'a required parameter is missing' },
  AF20002: { code: 'BadRequest', hint: 'a parameter has the wrong type' },
  AF20003: { code: 'BadRequest', hint: 'the webhook expiration is in the past' },
  AF20010: { code: 'TenantMismatch', hint: 'the tenant in the URL differs from the tenant of the token' },
  AF20011: { code: 'TenantNotFound', hint: 'the tenant does not exist, or unified audit logging is turned off' },
  AF20012: { code: 'TenantNotFound', hint: 'the tenant is incorrectly configured in the service' },
  AF20013: { code: 'BadRequest', hint: 'the tenant id in the URL is not a GUID' },
  AF20020: { code: 'BadRequest', hint: 'the content type is not valid' },
  AF20021: { code: 'BadRequest', hint: 'the webhook could not be validated' },
  AF20022: { code: 'SubscriptionMissing', hint: 'no subscription for this content type; start it' },
  AF20023: { code: 'SubscriptionDisabled', hint: 'the subscription was disabled by an administrator' },
  AF20030: { code: 'InvalidWindow', hint: 'the time window was refused (over 24 h, reversed, or older than 7 days; check the clock)' },
  AF20055: { code: 'InvalidWindow', hint: 'the time window was refused (over 24 h, reversed, or older than 7 days; check the clock)' },
  AF20050: { code: 'ContentMissing', hint: 'the content blob does not exist' },
  AF20051: { code: 'ContentExpired', hint: 'the content blob has expired' },
  AF20052: { code: 'ContentIdInvalid', hint: 'the content id in the URL is invalid' },
  AF20053: { code: 'BadRequest', hint: 'invalid Accept-Language header' },
  AF20054: { code: 'BadRequest', hint: 'invalid Accept-Language header' },
};

// When unified audit logging is off the service answers with this text (AF20011);
// users of other collectors read it as "tenant deleted". Say what it means.
const AUDITING_OFF = /DataServiceException: Tenant .* does not exist/i;

/** Maps a failure to a classified error that names the tenant. AF20024 is not a failure: callers check it first. */
export function classifyFailure(failure: ApiFailure, context: { tenantId: string; operation: string }): IngestError {
  const { httpStatus, afCode, retryAfterInMs } = failure;
  const details = { afCode, httpStatus, retryAfterInMs, tenantId: context.tenantId };
  const where = `${context.operation} for tenant ${context.tenantId}`;
  const said = failure.apiMessage ? ` (API: ${truncate(failure.apiMessage)})` : '';

  if (failure.apiMessage && AUDITING_OFF.test(failure.apiMessage)) {
    return new PermanentError(
      'AuditingDisabled',
      `${where} failed: unified audit logging appears to be turned off for this tenant; turn it on in Microsoft Purview (it can take 60 minutes to take effect)${said}`,
      details,
    );
  }
  // Throttling: AF429 under any status (403 in Microsoft's example), or a plain 429.
  if (afCode === 'AF429' || httpStatus === 429) {
    return new TransientError('Throttled', `${where} was throttled (HTTP ${httpStatus})`, details);
  }
  if (afCode === 'AF20031') {
    return new TransientError('InvalidPageToken', `${where}: the service rejected its own next-page token; the window will be listed again${said}`, details);
  }
  if (afCode && /^AF5\d{4}$/.test(afCode)) {
    return new TransientError('ServiceUnavailable', `${where} failed with an internal service error (HTTP ${httpStatus})`, details);
  }
  const known = afCode ? PERMANENT_CODES[afCode] : undefined;
  if (known) return new PermanentError(known.code, `${where} failed: ${known.hint}${said}`, details);

  if (httpStatus === 401) return new TransientError('Unauthorized', `${where} was refused: the access token was not accepted (HTTP 401)${said}`, details);
  if (httpStatus === 408) return new TransientError('Timeout', `${where} timed out at the service (HTTP 408)`, details);
  if (httpStatus >= 500) return new TransientError('ServiceUnavailable', `${where} failed with HTTP ${httpStatus}`, details);
  if (!failure.documentedBody) {
    // A proxy's HTML page or an empty body says nothing about our request; the next attempt may succeed.
    return new TransientError('ServiceUnavailable', `${where} failed with HTTP ${httpStatus} and an undocumented body`, details);
  }
  if (httpStatus === 404) return new PermanentError('ContentMissing', `${where} failed: not found (HTTP 404)${said}`, details);
  return new PermanentError('BadRequest', `${where} failed with HTTP ${httpStatus}${afCode ? ` ${afCode}` : ''}${said}`, details);
}

/** Reads the `{ "error": { "code", "message" } }` body the API documents; anything else is undocumented. */
export function parseErrorBody(text: string): { afCode?: string; apiMessage?: string; documentedBody: boolean } {
  try {
    const body: unknown = JSON.parse(text);
    const error = (body as { error?: unknown } | null)?.error;
    if (error && typeof error === 'object') {
      const { code, message } = error as { code?: unknown; message?: unknown };
      if (typeof code === 'string') {
        return { afCode: code.toUpperCase(), apiMessage: typeof message === 'string' ? message : undefined, documentedBody: true };
      }
    }
  } catch {
    // not JSON
  }
  return { documentedBody: false };
}

function truncate(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 300 ? `${oneLine.slice(0, 297)}...` : oneLine;
}
