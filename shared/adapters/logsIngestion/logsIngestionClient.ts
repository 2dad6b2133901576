import type { TokenCredential } from '@azure/identity';
import { isAggregateLogsUploadError, LogsIngestionClient } from '@azure/monitor-ingestion';
import type { LogsIngestion } from '../../ports.js';
import type { CallOptions, LogsUploadFailure } from '../../core/io.js';

/**
 * The Logs Ingestion API through `@azure/monitor-ingestion`: rows are packed into calls of at most
 * {@link MAX_CALL_BYTES} of JSON (the API's 1 MB limit per call), each sent with the SDK's
 * `LogsIngestionClient.upload` (gzip, bearer token for the Azure Monitor audience, Retry-After honoured on
 * 429 and 503 by the SDK's retry policy). Refusals come back as data, classified: 400 and 413 say the rows
 * themselves are wrong, everything else may pass on another try.
 */

/** The API's limit per call (1 MB, compressed or not); our calls' uncompressed JSON stays within it. */
export const MAX_CALL_BYTES = 1_000_000;

export interface AzureLogsIngestionOptions {
  /** The data collection endpoint's logs ingestion origin. */
  readonly endpoint: string;
  /** The rule's immutable id (`dcr-…`). */
  readonly ruleId: string;
  readonly streamName: string;
  readonly credential: TokenCredential;
  /** `https://monitor.azure.com` or a sovereign cloud's counterpart. */
  readonly audience: string;
  /** Calls in flight at once. */
  readonly concurrency?: number;
  /** The SDK's retries per call (429/503 with Retry-After, 5xx and network errors with backoff). */
  readonly retry?: { readonly maxRetries?: number; readonly retryDelayInMs?: number; readonly maxRetryDelayInMs?: number };
  /** Call size limit; tests lower it. */
  readonly maxCallBytes?: number;
}

const PERMANENT_STATUSES = new Set([400, 413]);
const MAX_MESSAGE_CHARS = 300;

export class AzureLogsIngestion implements LogsIngestion {
  readonly maxCallBytes: number;
  private readonly client: LogsIngestionClient;
  private readonly concurrency: number;

  constructor(private readonly options: AzureLogsIngestionOptions) {
    this.maxCallBytes = options.maxCallBytes ?? MAX_CALL_BYTES;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.client = new LogsIngestionClient(options.endpoint, options.credential, {
      audience: options.audience,
      retryOptions: { maxRetries: 4, retryDelayInMs: 1000, maxRetryDelayInMs: 30_000, ...options.retry },
      // The token is for this endpoint only: never follow a redirect elsewhere.
      redirectOptions: { maxRetries: 0 },
    });
  }

  async upload(rows: readonly Readonly<Record<string, unknown>>[], options: CallOptions = {}): Promise<readonly LogsUploadFailure[]> {
    const calls = packCalls(rows, this.maxCallBytes);
    const failures: LogsUploadFailure[] = [];
    let next = 0;
    const worker = async () => {
      while (next < calls.length) {
        const call = calls[next++]!;
        const failure = await this.send(call.map((i) => rows[i]!), options);
        if (failure) failures.push({ ...failure, rows: call });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, calls.length) }, worker));
    return failures;
  }

  /** One call: undefined when accepted, else why not (the caller fills in the rows). */
  private async send(rows: Readonly<Record<string, unknown>>[], options: CallOptions): Promise<Omit<LogsUploadFailure, 'rows'> | undefined> {
    try {
      // One call's rows fit the limit, so the SDK sends them in one request.
      await this.client.upload(this.options.ruleId, this.options.streamName, rows as Record<string, unknown>[], { maxConcurrency: 1, abortSignal: options.abortSignal });
      return undefined;
    } catch (error) {
      if (options.abortSignal?.aborted) throw error;
      const cause = isAggregateLogsUploadError(error) ? error.errors[0]?.cause : error;
      return classify(cause);
    }
  }
}

/** Splits rows into calls whose JSON array (`[a,b,…]`) stays within `limit` bytes; a larger row gets a call of its own. */
export function packCalls(rows: readonly unknown[], limit: number): number[][] {
  const calls: number[][] = [];
  let current: number[] = [];
  let size = 2;
  rows.forEach((row, index) => {
    const bytes = Buffer.byteLength(JSON.stringify(row), 'utf8');
    const added = (current.length > 0 ? 1 : 0) + bytes;
    if (current.length > 0 && size + added > limit) {
      calls.push(current);
      current = [];
      size = 2;
    }
    size += (current.length > 0 ? 1 : 0) + bytes;
    current.push(index);
  });
  if (current.length > 0) calls.push(current);
  return calls;
}

function classify(cause: unknown): Omit<LogsUploadFailure, 'rows'> {
  const error = cause as { statusCode?: unknown; code?: unknown; message?: unknown; name?: unknown } | undefined;
  const status = typeof error?.statusCode === 'number' ? error.statusCode : undefined;
  const code = typeof error?.code === 'string' ? error.code : undefined;
  const message = String(error?.message ?? error?.name ?? 'upload failed').replace(/\s+/g, ' ').slice(0, MAX_MESSAGE_CHARS);
  return { status, code, message, permanent: status !== undefined && PERMANENT_STATUSES.has(status) };
}
