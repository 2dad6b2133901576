/**
 * The error taxonomy of the pipeline, in one place. Every foreign failure (HTTP, SDK, parse) is
 * translated into an {@link IngestError} by an adapter; use cases let these through; the function
 * use cases apply the error policy of docs/architecture.md ("Delivery"): transient → try again later with
 * backoff (delivery re-enqueues the blob with a visibility delay until its content expires), permanent →
 * record the reason and complete.
 */

/** Failures that a later attempt may not repeat. */
export type TransientCode =
  | 'Throttled'
  | 'ServiceUnavailable'
  | 'Network'
  | 'Timeout'
  | 'Unauthorized'
  | 'InvalidPageToken'
  | 'SecretUnavailable'
  | 'SinkUnavailable'
  /** A TLS peer's certificate is not trusted (a TLS-inspecting proxy, a missing corporate CA, a wrong host). */
  | 'TlsUntrusted';

/** Failures that will happen again on retry until something outside the pipeline changes. */
export type PermanentCode =
  | 'SubscriptionMissing'
  | 'SubscriptionDisabled'
  | 'AuditingDisabled'
  | 'TenantNotFound'
  | 'TenantMismatch'
  | 'PermissionMissing'
  | 'AppNotConsented'
  | 'CredentialRejected'
  | 'BadRequest'
  | 'InvalidWindow'
  | 'ContentExpired'
  | 'ContentMissing'
  | 'ContentIdInvalid'
  | 'MalformedContent'
  | 'InvalidMessage'
  | 'ForeignHost'
  | 'EventTooLarge'
  /** A stream's cursor row holds a cursor that does not parse or lies in the future. */
  | 'InvalidCursor'
  /** State that no longer fits its table row (a gap's heal of a very long outage). */
  | 'StateTooLarge';

export type ErrorCode = TransientCode | PermanentCode;

/** Facts about a failed call, kept for the ledger, health rows and logs (never secrets or bodies). */
export interface ErrorDetails {
  /** The Management Activity API code, e.g. `AF20051`. */
  readonly afCode?: string;
  readonly httpStatus?: number;
  /** How long the service asked us to wait, when it said so. */
  readonly retryAfterInMs?: number;
  readonly tenantId?: string;
  readonly cause?: unknown;
}

/** Base of every classified pipeline error: a stable code, a retryable flag, the call's facts. */
export abstract class IngestError extends Error {
  override readonly name: string = 'IngestError';
  abstract readonly retryable: boolean;
  readonly afCode?: string;
  readonly httpStatus?: number;
  readonly retryAfterInMs?: number;
  readonly tenantId?: string;

  protected constructor(
    readonly code: ErrorCode,
    message: string,
    details: ErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.afCode = details.afCode;
    this.httpStatus = details.httpStatus;
    this.retryAfterInMs = details.retryAfterInMs;
    this.tenantId = details.tenantId;
  }

  /** A one-line reason for ledger rows and logs: `AF20051 ContentExpired: ...`. */
  get reason(): string {
    return `${this.afCode ? `${this.afCode} ` : ''}${this.code}: ${this.message}`;
  }
}

export class TransientError extends IngestError {
  override readonly name: string = 'TransientError';
  readonly retryable = true;
  constructor(code: TransientCode, message: string, details?: ErrorDetails) {
    super(code, message, details);
  }
}

export class PermanentError extends IngestError {
  override readonly name: string = 'PermanentError';
  readonly retryable = false;
  constructor(code: PermanentCode, message: string, details?: ErrorDetails) {
    super(code, message, details);
  }
}

/**
 * Whether a later attempt may succeed. Unknown errors count as transient: the platform bounds their
 * cost (poison queue after maxDequeueCount, next timer tick), and a guess of "permanent" would drop data.
 */
export function isRetryable(err: unknown): boolean {
  return err instanceof IngestError ? err.retryable : true;
}

/** A message safe to log for any thrown value (no stack, no bodies). */
export function describeError(err: unknown): string {
  if (err instanceof IngestError) return err.reason;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  // A thrown plain object (some SDKs reject with one) must not print as "[object Object]".
  if (typeof err === 'object' && err !== null) {
    const o = err as { name?: unknown; code?: unknown; message?: unknown };
    const text = [o.name, o.code, o.message].filter((v) => typeof v === 'string' && v).join(': ');
    if (text) return text;
    try {
      return JSON.stringify(err).slice(0, 300);
    } catch {
      return Object.prototype.toString.call(err);
    }
  }
  return String(err);
}
