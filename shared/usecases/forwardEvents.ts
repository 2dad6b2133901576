import { TransientError } from '../core/errors.js';
import type { BlobStore, Logger, LogsIngestion, Metrics } from '../ports.js';
import type { LogsUploadFailure } from '../core/io.js';
import { CONTAINER_QUARANTINE } from '../core/containers.js';

/**
 * Forwards a batch of the hub's events to the Logs Ingestion API (the second path into Sentinel, for
 * workspaces without the Event Hubs data import). Each event becomes one row: its body (the normalized
 * event) plus `EhEnqueuedTime` and `EhProperties`, the columns the Event Hubs path fills too.
 *
 * Nothing is lost: the batch succeeds only when every row was accepted or is quarantined with its reason.
 * - Rows refused for their content (400, 413) are bisected until each refused row stands alone; such a row,
 *   a body that is not a JSON object, and a row over the call limit are written to the quarantine container
 *   (`logs-ingestion/…`) with the reason, logged and counted. They stay on the hub until its retention ends.
 * - Other failures (429 after the client's Retry-After retries, 5xx, network, auth) are retried for the
 *   failed rows only, up to `rounds` times; then the use case throws a TransientError and the trigger's retry
 *   policy runs the whole batch again (accepted rows arrive twice; every copy has the same EventId).
 */

/** One event as the Event Hubs trigger delivers it. */
export interface HubEvent {
  /** The body: a JSON object, or its text or bytes. */
  readonly body: unknown;
  /** When the hub received it (ISO 8601). */
  readonly enqueuedTime?: string;
  /** The AMQP application properties. */
  readonly properties?: Readonly<Record<string, unknown>>;
  readonly partitionId?: string;
  readonly sequenceNumber?: number;
}

export interface ForwardEventsDependencies {
  readonly ingestion: LogsIngestion;
  readonly blobs: BlobStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface ForwardEventsOptions {
  /** Upload attempts for rows that failed transiently, before the batch is handed back to the trigger. */
  readonly rounds?: number;
  readonly abortSignal?: AbortSignal;
}

export interface ForwardResult {
  readonly received: number;
  readonly forwarded: number;
  readonly quarantined: number;
  /** Upload calls to the use case's port (each may be several HTTP calls). */
  readonly uploads: number;
}

/** Where a refused event's quarantine blob goes, under the quarantine container. */
export const FORWARD_QUARANTINE_PREFIX = 'logs-ingestion';
const DEFAULT_ROUNDS = 3;

interface Row {
  readonly index: number;
  readonly event: HubEvent;
  readonly row: Record<string, unknown>;
}

export async function forwardEvents(events: readonly HubEvent[], deps: ForwardEventsDependencies, options: ForwardEventsOptions = {}): Promise<ForwardResult> {
  const rounds = Math.max(1, options.rounds ?? DEFAULT_ROUNDS);
  const call = { abortSignal: options.abortSignal };
  let uploads = 0;
  let forwarded = 0;
  let quarantined = 0;

  const refuse = async (event: HubEvent, index: number, row: unknown, reason: string, failure?: LogsUploadFailure) => {
    const id = eventIdOf(row) ?? (event.partitionId !== undefined && event.sequenceNumber !== undefined ? `p${event.partitionId}-${event.sequenceNumber}` : `batch-${index}`);
    const name = `${FORWARD_QUARANTINE_PREFIX}/${safeName(id)}.json`;
    const record = {
      reason,
      status: failure?.status,
      code: failure?.code,
      partitionId: event.partitionId,
      sequenceNumber: event.sequenceNumber,
      enqueuedTime: event.enqueuedTime,
      event: row ?? bodyText(event.body),
    };
    // A quarantine write that fails throws: the batch is retried rather than the event dropped.
    await deps.blobs.put(CONTAINER_QUARANTINE, name, JSON.stringify(record), { contentType: 'application/json', ...call });
    quarantined++;
    deps.logger.error('event refused by the Logs Ingestion API; quarantined', {
      eventId: eventIdOf(row),
      partitionId: event.partitionId,
      sequenceNumber: event.sequenceNumber,
      reason,
      status: failure?.status,
      code: failure?.code,
      blob: `${CONTAINER_QUARANTINE}/${name}`,
    });
    deps.metrics.count('forward.quarantined', 1, { reason: failure?.status !== undefined ? String(failure.status) : reason });
  };

  const rows: Row[] = [];
  for (const [index, event] of events.entries()) {
    const body = parseBody(event.body);
    if (!body) {
      await refuse(event, index, undefined, 'the body is not a JSON object');
      continue;
    }
    const row: Record<string, unknown> = { ...body, EhEnqueuedTime: event.enqueuedTime, EhProperties: event.properties ?? {} };
    // A row the API could never take in one call is refused now, not after a round trip.
    if (Buffer.byteLength(JSON.stringify(row), 'utf8') + 2 > deps.ingestion.maxCallBytes) {
      await refuse(event, index, row, `the event is over the ${deps.ingestion.maxCallBytes}-byte call limit`);
      continue;
    }
    rows.push({ index, event, row });
  }

  // Sends `batch`; returns the rows that failed transiently. Content refusals are bisected here.
  const send = async (batch: readonly Row[]): Promise<{ rows: Row[]; failure: LogsUploadFailure }[]> => {
    if (batch.length === 0) return [];
    uploads++;
    const failures = await deps.ingestion.upload(batch.map((r) => r.row), call);
    const failed = new Set(failures.flatMap((f) => f.rows));
    forwarded += batch.length - failed.size;
    const transient: { rows: Row[]; failure: LogsUploadFailure }[] = [];
    for (const failure of failures) {
      const members = failure.rows.map((i) => batch[i]!);
      if (!failure.permanent) transient.push({ rows: members, failure });
      else if (members.length === 1) await refuse(members[0]!.event, members[0]!.index, members[0]!.row, failure.message, failure);
      else {
        const half = Math.ceil(members.length / 2);
        transient.push(...(await send(members.slice(0, half))), ...(await send(members.slice(half))));
      }
    }
    return transient;
  };

  let pending: readonly Row[] = rows;
  let last: LogsUploadFailure | undefined;
  for (let round = 1; round <= rounds && pending.length > 0; round++) {
    const transient = await send(pending);
    pending = transient.flatMap((t) => t.rows);
    last = transient[0]?.failure ?? last;
    if (pending.length > 0) {
      deps.logger.warn('Logs Ingestion API upload failed; retrying the failed rows', { round, rows: pending.length, status: last?.status, code: last?.code });
    }
  }

  deps.metrics.count('forward.events', forwarded);
  if (pending.length > 0) {
    deps.metrics.count('forward.failedBatches', 1, { status: last?.status !== undefined ? String(last.status) : 'none' });
    throw new TransientError(
      last?.status === 429 ? 'Throttled' : 'SinkUnavailable',
      `Logs Ingestion API: ${pending.length} of ${events.length} events not accepted after ${rounds} rounds (${last?.status ?? 'no status'} ${last?.code ?? ''} ${last?.message ?? ''}); the batch is retried`.replace(/\s+/g, ' '),
    );
  }
  return { received: events.length, forwarded, quarantined, uploads };
}

/** The body as a JSON object: parsed from text or bytes; anything else is undefined. */
function parseBody(body: unknown): Record<string, unknown> | undefined {
  let value = body;
  if (value instanceof Uint8Array) value = Buffer.from(value).toString('utf8');
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function bodyText(body: unknown): unknown {
  return body instanceof Uint8Array ? Buffer.from(body).toString('utf8') : body;
}

function eventIdOf(row: unknown): string | undefined {
  const id = typeof row === 'object' && row !== null ? (row as Record<string, unknown>).EventId : undefined;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200);
}
