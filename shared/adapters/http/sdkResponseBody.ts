import { createDefaultHttpClient, type HttpClient, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import { TransientError } from '../../core/errors.js';
import { describeLimit } from './responseBody.js';

/** Any status: the Azure SDK's HTTP client hands the body over as a stream instead of reading it whole. */
const EVERY_STATUS: ReadonlySet<number> = new Set([Number.POSITIVE_INFINITY]);

/** A response body the SDK would have read whole was over its limit (the cause of the SDK's own error). */
export class ResponseTooLargeError extends TransientError {
  override readonly name: string = 'ResponseTooLargeError';

  constructor(origin: string, limit: number) {
    super('ServiceUnavailable', `the response from ${origin} is over ${describeLimit(limit)}; it was not read further`);
  }
}

export interface BoundedHttpClientOptions {
  /** The client that sends the requests (default: the Azure SDK's own). */
  readonly inner?: HttpClient;
  /**
   * Told of each refusal. MSAL reports any failure of its network client as a bare `network_error`,
   * dropping the error; a credential learns the real reason here.
   */
  readonly onRefused?: (error: ResponseTooLargeError) => void;
}

/**
 * An HTTP client for Azure SDK clients (@azure/identity and MSAL token requests, Key Vault) that reads
 * every response body with a size limit. The SDK's own client reads a body whole into a string; this one
 * asks it for the body as a stream, reads at most `limit` bytes (after decompression), and past that
 * aborts the request, which closes the connection, and fails with {@link ResponseTooLargeError}. A request
 * whose caller streams some answers itself (a download) is passed through untouched.
 */
export function boundedHttpClient(limit: number, options: BoundedHttpClientOptions = {}): HttpClient {
  const inner = options.inner ?? createDefaultHttpClient();
  return {
    async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
      // A caller that streams some answers itself (a download) reads them its own way: left untouched.
      if (request.streamResponseStatusCodes?.size) return inner.sendRequest(request);
      const asked = request.streamResponseStatusCodes;
      const outer = request.abortSignal;
      // Our own signal, following the caller's, so that a refused body can abort its request.
      const abort = new AbortController();
      const follow = () => abort.abort();
      if (outer?.aborted) abort.abort();
      outer?.addEventListener('abort', follow);
      try {
        request.streamResponseStatusCodes = EVERY_STATUS as Set<number>;
        request.abortSignal = abort.signal;
        let response: PipelineResponse;
        try {
          response = await inner.sendRequest(request);
        } finally {
          // The pipeline may send the same request again (a retry): it must find what it set.
          request.streamResponseStatusCodes = asked;
          request.abortSignal = outer;
        }
        const body = response.readableStreamBody;
        response.readableStreamBody = undefined;
        if (!body) return response;
        const refuse = (): never => {
          const error = new ResponseTooLargeError(new URL(request.url).origin, limit);
          options.onRefused?.(error);
          // Aborting destroys the request and its socket; destroying a decompressing stream alone would not.
          abort.abort(error);
          throw error;
        };
        const announced = Number(response.headers.get('content-length'));
        if (Number.isFinite(announced) && announced > limit) refuse();
        const chunks: Buffer[] = [];
        let bytes = 0;
        for await (const chunk of body as AsyncIterable<Buffer | string>) {
          const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          bytes += buffer.length;
          if (bytes > limit) refuse();
          chunks.push(buffer);
        }
        response.bodyAsText = Buffer.concat(chunks, bytes).toString('utf8');
        return response;
      } finally {
        outer?.removeEventListener('abort', follow);
      }
    },
  };
}
