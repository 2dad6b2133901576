import { PermanentError, TransientError, type IngestError } from '../../core/errors.js';

/**
 * Translates a failed Microsoft Graph security response into the pipeline's error taxonomy. Graph
 * answers with the HTTP status that means what it says (429 throttled, 403 forbidden, 5xx service
 * trouble) and a JSON body `{ "error": { "code", "message", "innerError": { "request-id" } } }`.
 */

/** What Graph said, as far as it could be read. */
export interface GraphFailure {
  readonly httpStatus: number;
  /** `error.code`, e.g. `Forbidden`, `TooManyRequests`, `BadRequest`. */
  readonly graphCode?: string;
  /** `error.message` (service text; no secrets). */
  readonly apiMessage?: string;
  /** `error.innerError.request-id`, which Microsoft support asks for. */
  readonly requestId?: string;
  readonly retryAfterInMs?: number;
  /** Whether the body was JSON of the documented error shape. */
  readonly documentedBody: boolean;
}

export interface GraphCallContext {
  readonly tenantId: string;
  readonly operation: string;
  /** The application permission the call needs, named in a 403's message. */
  readonly permission: string;
  /** What else a 403 may mean for this API (default: the tenant lacks Microsoft Defender XDR). */
  readonly forbiddenHint?: string;
}

/** Maps a failure to a classified error that names the tenant and, where there is one, the fix. */
export function classifyGraphFailure(failure: GraphFailure, context: GraphCallContext): IngestError {
  const { httpStatus, retryAfterInMs } = failure;
  const details = { httpStatus, retryAfterInMs, tenantId: context.tenantId };
  const where = `${context.operation} for tenant ${context.tenantId}`;
  const said = failure.apiMessage || failure.graphCode ? ` (Graph: ${[failure.graphCode, failure.apiMessage && truncate(failure.apiMessage)].filter(Boolean).join(': ')}${failure.requestId ? `; request-id ${failure.requestId}` : ''})` : '';

  if (httpStatus === 429) return new TransientError('Throttled', `${where} was throttled by Microsoft Graph (HTTP 429)`, details);
  if (httpStatus === 401) return new TransientError('Unauthorized', `${where} was refused: the access token was not accepted (HTTP 401)${said}`, details);
  if (httpStatus === 408) return new TransientError('Timeout', `${where} timed out at the service (HTTP 408)`, details);
  if (httpStatus >= 500) return new TransientError('ServiceUnavailable', `${where} failed with HTTP ${httpStatus}${said}`, details);
  if (httpStatus === 403) {
    return new PermanentError(
      'PermissionMissing',
      `${where} was forbidden: grant the application permission ${context.permission} on Microsoft Graph and admin consent in this tenant ` +
        `(${context.forbiddenHint ?? 'and check the tenant has Microsoft Defender XDR'})${said}`,
      details,
    );
  }
  if (!failure.documentedBody) {
    // A proxy's HTML page or an empty body says nothing about our request; the next attempt may succeed.
    return new TransientError('ServiceUnavailable', `${where} failed with HTTP ${httpStatus} and an undocumented body`, details);
  }
  return new PermanentError('BadRequest', `${where} failed with HTTP ${httpStatus}${said}`, details);
}

/** Reads Graph's `{ "error": { "code", "message", "innerError" } }` body; anything else is undocumented. */
export function parseGraphErrorBody(text: string): Pick<GraphFailure, 'graphCode' | 'apiMessage' | 'requestId' | 'documentedBody'> {
  try {
    const error = (JSON.parse(text) as { error?: unknown } | null)?.error;
    if (error && typeof error === 'object') {
      const { code, message, innerError } = error as { code?: unknown; message?: unknown; innerError?: unknown };
      if (typeof code === 'string') {
        const requestId = innerError && typeof innerError === 'object' ? (innerError as Record<string, unknown>)['request-id'] : undefined;
        return {
          graphCode: code,
          apiMessage: typeof message === 'string' ? message : undefined,
          requestId: typeof requestId === 'string' ? requestId.slice(0, 64) : undefined,
          documentedBody: true,
        };
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
