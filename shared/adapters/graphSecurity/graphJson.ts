import { TransientError } from '../../core/errors.js';
import type { AuthorizedRequest, AuthorizedRequests } from '../http/authorizedRequests.js';
import { parseRetryAfter } from '../http/request.js';
import { describeLimit, MAX_ERROR_BODY_BYTES, MAX_PAGE_BYTES, readLimitedText, readTextWithin } from '../http/responseBody.js';
import { classifyGraphFailure, parseGraphErrorBody, type GraphCallContext } from './graphErrors.js';

/** Statuses whose Retry-After Graph means: wait that long, then try again. */
const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([429, 503, 504]);

/**
 * One Microsoft Graph call that answers with a JSON object, through the tenant's request loop (both Graph
 * clients: security incidents and alerts, audit log queries). A failure is classified for `context`; Graph's
 * Retry-After counts on 429, 503 and 504, elsewhere the client's own backoff applies.
 */
export function sendGraphJson(http: AuthorizedRequests, request: Omit<AuthorizedRequest<unknown>, 'read' | 'retryAfter'>, context: GraphCallContext): Promise<unknown> {
  return http.send<unknown>({
    ...request,
    read: async (response) => {
      if (response.ok) return { result: parseGraphObject(await readTextWithin(response, MAX_PAGE_BYTES), context, response.status) };
      const failure = classifyGraphFailure(
        { httpStatus: response.status, ...parseGraphErrorBody(await readLimitedText(response, MAX_ERROR_BODY_BYTES)), retryAfterInMs: parseRetryAfter(response.headers.get('retry-after'), http.now()) },
        context,
      );
      return { failure, tokenRefused: response.status === 401 };
    },
    retryAfter: (failure) => (failure.httpStatus !== undefined && RETRY_AFTER_STATUSES.has(failure.httpStatus) ? failure.retryAfterInMs : undefined),
  });
}

/** A response body as a JSON object; anything else (too large, not JSON, not an object) is a transient fault. */
function parseGraphObject(text: string | undefined, context: Pick<GraphCallContext, 'operation' | 'tenantId'>, httpStatus: number): unknown {
  const { operation, tenantId } = context;
  if (text === undefined) {
    // Retryable: no real page is this large, so it is a service or proxy fault of the moment; thrown
    // from the read, it is not retried in-process, and the next run asks again. The body was cancelled.
    throw new TransientError('ServiceUnavailable', `${operation} for tenant ${tenantId}: the response body is over ${describeLimit(MAX_PAGE_BYTES)}; it was not read further`, { tenantId, httpStatus });
  }
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body;
  } catch (err) {
    // A truncated or garbled page: the call is repeated (next attempt or next run).
    throw new TransientError('ServiceUnavailable', `${operation} for tenant ${tenantId}: the response was not valid JSON`, { tenantId, httpStatus, cause: err });
  }
  throw malformedGraphResponse(operation, tenantId, 'expected a JSON object');
}

/** A Graph answer of an unexpected shape: transient (the next attempt or run asks again). */
export function malformedGraphResponse(operation: string, tenantId: string, what: string): TransientError {
  return new TransientError('ServiceUnavailable', `${operation} for tenant ${tenantId}: unexpected response shape (${what})`, { tenantId });
}
