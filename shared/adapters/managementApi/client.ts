import { PermanentError, TransientError } from '../../core/errors.js';
import { checkFeedUrl, contentUriFor, feedRoot, formatApiTime, isValidContentId } from '../../core/feedUrls.js';
import { checkListingEntry, type RejectedListing, type RepairedListing } from '../../core/listingEntry.js';
import type { ContentListing, ContentType, SubscriptionInfo, TimeWindow } from '../../core/model.js';
import { silentLogger, type Logger } from '../../ports.js';
import type { CallOptions } from '../../core/io.js';
import { AuthorizedRequests, type TenantHttpClientOptions } from '../http/authorizedRequests.js';
import { DEFAULT_RATE, RateLimiter } from '../http/rateLimiter.js';
import { networkReason, parseRetryAfter } from '../http/request.js';
import { describeLimit, MAX_ERROR_BODY_BYTES, MAX_PAGE_BYTES, readLimitedText, readTextWithin } from '../http/responseBody.js';
import { classifyFailure, parseErrorBody } from './apiErrors.js';

export interface ManagementActivityClientOptions extends TenantHttpClientOptions {
  /** `https://manage.office.com` or an override; the only origin that ever receives this tenant's token. */
  readonly managementEndpoint: string;
  /** Sent on every call, blob downloads included, for a dedicated throttling quota. */
  readonly publisherIdentifier: string;
  /** Guard against a NextPageUri loop. Default 5,000 pages per window. */
  readonly maxPagesPerWindow?: number;
}

export interface StartSubscriptionResult extends SubscriptionInfo {
  /** True when the API answered AF20024 "already enabled", which is success. */
  readonly alreadyEnabled: boolean;
}

export interface ContentPage {
  readonly pageNumber: number;
  readonly items: readonly ContentListing[];
  /** Entries that cannot be used, with the reason (the rest of the page is usable). */
  readonly rejected: readonly RejectedListing[];
  /** Usable entries that had a field filled in. */
  readonly repaired: readonly RepairedListing[];
}

export interface ContentDownload {
  /** The blob's bytes as they arrive; iterate once. A stall longer than the request timeout aborts it. */
  readonly body: AsyncIterable<Uint8Array>;
  readonly contentLength?: number;
}

interface SendOptions extends CallOptions {
  readonly operation: string;
  /** AF codes that mean success for this operation (AF20024 for /start). */
  readonly successCodes?: readonly string[];
}

type Sent =
  | {
      readonly kind: 'response';
      readonly response: Response;
      /** Clears the request's timer; call when done with the body. */
      readonly release: () => void;
      /** Restarts the timer (idle timeout while a body streams in). */
      readonly touch: () => void;
    }
  | { readonly kind: 'success-code'; readonly afCode: string };

/**
 * Client for one tenant's Office 365 Management Activity API: subscriptions, content listing with
 * paging, and content downloads. Every call carries `PublisherIdentifier`, passes the tenant's rate
 * limiter, retries transient failures a bounded number of times with jittered backoff (honouring
 * Retry-After), refreshes the token once on a bare 401, never follows redirects, and refuses to send
 * the token anywhere but the management origin under the tenant's feed path.
 */
export class ManagementActivityClient {
  private readonly root: string;
  private readonly http: AuthorizedRequests;
  private readonly log: Logger;

  constructor(private readonly options: ManagementActivityClientOptions) {
    this.root = feedRoot(options.managementEndpoint, options.tenantId);
    this.log = options.logger ?? silentLogger;
    this.http = new AuthorizedRequests({
      ...options,
      origin: options.managementEndpoint,
      rateLimiter: options.rateLimiter ?? new RateLimiter(DEFAULT_RATE),
    });
  }

  get tenantId(): string {
    return this.options.tenantId;
  }

  /** Starts (or confirms) the subscription to a content type. AF20024 "already enabled" is success. */
  async startSubscription(contentType: ContentType, options: CallOptions = {}): Promise<StartSubscriptionResult> {
    const url = this.url('/subscriptions/start', { contentType });
    const sent = await this.send('POST', url, { ...options, operation: `start subscription ${contentType}`, successCodes: ['AF20024'] });
    if (sent.kind === 'success-code') return { contentType, status: 'enabled', alreadyEnabled: true };
    const body = await this.readJson(sent, `start subscription ${contentType}`);
    return { ...toSubscription(body, contentType), alreadyEnabled: false };
  }

  /** Lists the tenant's subscriptions; content types never started are absent. */
  async listSubscriptions(options: CallOptions = {}): Promise<SubscriptionInfo[]> {
    const url = this.url('/subscriptions/list', {});
    const sent = await this.send('GET', url, { ...options, operation: 'list subscriptions' });
    const body = await this.readJson(sent as Extract<Sent, { kind: 'response' }>, 'list subscriptions');
    if (!Array.isArray(body)) throw this.malformed('list subscriptions', 'expected a JSON array');
    return body.map((item) => toSubscription(item, undefined));
  }

  /**
   * Lists the content blobs with `window.start <= contentCreated < window.end`, one page at a time,
   * following `NextPageUri` (or `NextPageUrl`, any case) until the service sends none. A page link to
   * another host or tenant path is refused, as is a link that repeats.
   */
  async *listContent(contentType: ContentType, window: TimeWindow, options: CallOptions = {}): AsyncGenerator<ContentPage> {
    const operation = `list content ${contentType}`;
    let url = this.url('/subscriptions/content', {
      contentType,
      startTime: formatApiTime(window.start),
      endTime: formatApiTime(window.end),
    });
    const visited = new Set<string>();
    for (let pageNumber = 1; ; pageNumber++) {
      visited.add(url.href);
      const sent = (await this.send('GET', url, { ...options, operation })) as Extract<Sent, { kind: 'response' }>;
      const next = sent.response.headers.get('NextPageUri') ?? sent.response.headers.get('NextPageUrl');
      const body = await this.readJson(sent, operation);
      if (!Array.isArray(body)) throw this.malformed(operation, 'expected a JSON array of content blobs');
      yield this.toPage(pageNumber, body, contentType);

      if (!next) return;
      const verdict = checkFeedUrl(next, this.options.managementEndpoint, this.options.tenantId);
      if (!verdict.ok) {
        this.log.warn('next page link refused', { tenantId: this.options.tenantId, contentType, problem: verdict.problem });
        throw new PermanentError('ForeignHost', `${operation} for tenant ${this.options.tenantId}: the next-page link was refused (${verdict.problem}); the token is only sent to ${this.options.managementEndpoint}`, { tenantId: this.options.tenantId });
      }
      url = this.withPublisher(verdict.url);
      if (visited.has(url.href) || pageNumber >= (this.options.maxPagesPerWindow ?? 5000)) {
        throw new TransientError('ServiceUnavailable', `${operation} for tenant ${this.options.tenantId}: paging did not end after ${pageNumber} pages (loop or runaway); the window will be listed again`, { tenantId: this.options.tenantId });
      }
    }
  }

  /**
   * Downloads a content blob. `contentUri` must be on the management origin under the tenant's feed
   * path (`.../activity/feed/audit/{contentId}`); anything else is refused before a token is attached.
   */
  async fetchContent(contentUri: string, options: CallOptions = {}): Promise<ContentDownload> {
    const verdict = checkFeedUrl(contentUri, this.options.managementEndpoint, this.options.tenantId);
    const contentId = verdict.ok ? /\/activity\/feed\/audit\/([^/]+)$/i.exec(verdict.url.pathname)?.[1] : undefined;
    if (!verdict.ok || !contentId || !isValidContentId(contentId)) {
      throw new PermanentError('ForeignHost', `fetch content for tenant ${this.options.tenantId}: refused a content URI that is not a content blob of this tenant on ${this.options.managementEndpoint} (${verdict.ok ? 'not a content path' : verdict.problem})`, { tenantId: this.options.tenantId });
    }
    const sent = (await this.send('GET', this.withPublisher(verdict.url), { ...options, operation: 'fetch content' })) as Extract<Sent, { kind: 'response' }>;
    const length = Number(sent.response.headers.get('content-length'));
    return { body: this.guardedBody(sent, options.abortSignal), contentLength: Number.isFinite(length) && length >= 0 ? length : undefined };
  }

  /** Sorts a page's entries into usable, repaired and rejected ones; one bad entry never fails the page. */
  private toPage(pageNumber: number, body: readonly unknown[], contentType: ContentType): ContentPage {
    const items: ContentListing[] = [];
    const rejected: RejectedListing[] = [];
    const repaired: RepairedListing[] = [];
    const context = { contentType, canonicalUri: (contentId: string) => contentUriFor(this.options.managementEndpoint, this.options.tenantId, contentId) };
    for (const value of body) {
      const verdict = checkListingEntry(value, context);
      if (!verdict.ok) {
        rejected.push(verdict.rejected);
        continue;
      }
      items.push(verdict.listing);
      if (verdict.repairs.length > 0) repaired.push({ contentId: verdict.listing.contentId, repairs: verdict.repairs });
    }
    return { pageNumber, items, rejected, repaired };
  }

  private url(path: string, query: Record<string, string>): URL {
    const url = new URL(`${this.root}${path}`);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    return this.withPublisher(url);
  }

  /** Adds PublisherIdentifier unless the URL already carries it (parameter names are case-insensitive). */
  private withPublisher(url: URL): URL {
    const has = [...url.searchParams.keys()].some((k) => k.toLowerCase() === 'publisheridentifier');
    if (!has) url.searchParams.set('PublisherIdentifier', this.options.publisherIdentifier);
    return url;
  }

  private send(method: 'GET' | 'POST', url: URL, options: SendOptions): Promise<Sent> {
    return this.http.send<Sent>({
      operation: options.operation,
      url,
      method,
      headers: { Accept: 'application/json' },
      abortSignal: options.abortSignal,
      read: async (response, deadline) => {
        if (response.ok) return { result: { kind: 'response', response, release: deadline.release, touch: deadline.touch }, keepsDeadline: true };
        const parsed = parseErrorBody(await readLimitedText(response, MAX_ERROR_BODY_BYTES));
        if (parsed.afCode && options.successCodes?.includes(parsed.afCode)) return { result: { kind: 'success-code', afCode: parsed.afCode } };
        const failure = classifyFailure(
          { httpStatus: response.status, ...parsed, retryAfterInMs: parseRetryAfter(response.headers.get('retry-after'), this.http.now()) },
          { tenantId: this.options.tenantId, operation: options.operation },
        );
        // A bare 401 is a refused token; with an AF code (AF10001, AF20010) it is a real answer.
        return { failure, tokenRefused: response.status === 401 && !parsed.afCode };
      },
    });
  }

  private async readJson(sent: Extract<Sent, { kind: 'response' }>, operation: string): Promise<unknown> {
    const details = { tenantId: this.options.tenantId, httpStatus: sent.response.status };
    let text: string | undefined;
    try {
      text = await readTextWithin(sent.response, MAX_PAGE_BYTES);
    } catch (err) {
      throw new TransientError('Network', `${operation} for tenant ${this.options.tenantId}: the response broke off (${networkReason(err)})`, { ...details, cause: err });
    } finally {
      sent.release();
    }
    if (text === undefined) {
      // Retryable: no real page is this large, so it is a service or proxy fault of the moment (like a
      // garbled page), and the window is listed again on the next poll; a permanent error would give the
      // window up. The body was cancelled, so a retry costs at most this much again.
      throw new TransientError('ServiceUnavailable', `${operation} for tenant ${this.options.tenantId}: the response body is over ${describeLimit(MAX_PAGE_BYTES)}; it was not read further, and the window is listed again`, details);
    }
    try {
      return JSON.parse(text);
    } catch (err) {
      // A truncated or garbled listing: the next attempt (next poll) lists the window again.
      throw new TransientError('ServiceUnavailable', `${operation} for tenant ${this.options.tenantId}: the response was not valid JSON`, { ...details, cause: err });
    }
  }

  private malformed(operation: string, what: string): TransientError {
    return new TransientError('ServiceUnavailable', `${operation} for tenant ${this.options.tenantId}: unexpected response shape (${what})`, { tenantId: this.options.tenantId });
  }

  private async *guardedBody(sent: Extract<Sent, { kind: 'response' }>, outer?: AbortSignal): AsyncGenerator<Uint8Array> {
    const body = sent.response.body;
    if (!body) return sent.release();
    try {
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        sent.touch();
        yield chunk;
      }
    } catch (err) {
      if (outer?.aborted) throw outer.reason ?? err;
      throw new TransientError('Network', `fetch content for tenant ${this.options.tenantId}: the download broke off (${networkReason(err)})`, { tenantId: this.options.tenantId, cause: err });
    } finally {
      sent.release();
    }
  }
}

function toSubscription(value: unknown, fallbackType: string | undefined): SubscriptionInfo {
  const v = (value ?? {}) as { contentType?: unknown; status?: unknown };
  const status = typeof v.status === 'string' ? v.status.toLowerCase() : undefined;
  return {
    contentType: typeof v.contentType === 'string' ? v.contentType : (fallbackType ?? 'unknown'),
    status: status === 'enabled' || status === 'disabled' ? status : 'unknown',
  };
}
