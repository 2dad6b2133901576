import { CONTENT_TYPES, SECURITY_STREAMS, isGuid, type AnyStreamKey } from './model.js';

/**
 * A discovery task on the poll-task queue: one poll or retention sweep of one audit stream, or one scan
 * of one Defender XDR stream. The timers enqueue one per stream; a queue-triggered poller runs each with
 * its own time budget, so a thousand tenants fan out over the function's instances.
 */
export type PollTaskKind = 'poll' | 'sweep' | 'security';

export interface PollTask {
  readonly v: 1;
  readonly kind: PollTaskKind;
  readonly tenantId: string;
  readonly contentType: AnyStreamKey['contentType'];
  /** When the timer enqueued it (ISO), for logs and the task's age. */
  readonly scheduledAt: string;
}

/** Tasks are tiny; anything longer is not one of ours. */
export const MAX_TASK_CHARS = 1024;

export function toPollTask(kind: PollTaskKind, stream: AnyStreamKey, scheduledAt: number): PollTask {
  return { v: 1, kind, tenantId: stream.tenantId, contentType: stream.contentType, scheduledAt: new Date(scheduledAt).toISOString() };
}

export type ParsedPollTask = { readonly ok: true; readonly task: PollTask } | { readonly ok: false; readonly reason: string };

/** Validates a task (the JSON text, bytes, or the object the Functions host parsed). Never throws. */
export function parsePollTask(input: unknown): ParsedPollTask {
  let value = input;
  if (input instanceof Uint8Array) value = Buffer.from(input).toString('utf8');
  if (typeof value === 'string') {
    if (value.length > MAX_TASK_CHARS) return { ok: false, reason: `task is ${value.length} characters, over the ${MAX_TASK_CHARS} limit` };
    try {
      value = JSON.parse(value);
    } catch {
      return { ok: false, reason: 'task is not JSON' };
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'task is not a JSON object' };
  const t = value as Record<string, unknown>;
  if (t.v !== 1) return { ok: false, reason: 'task version is not 1' };
  if (t.kind !== 'poll' && t.kind !== 'sweep' && t.kind !== 'security') return { ok: false, reason: 'task kind must be poll, sweep or security' };
  if (!isGuid(t.tenantId)) return { ok: false, reason: 'task tenantId is not a GUID' };
  const names: readonly string[] = t.kind === 'security' ? SECURITY_STREAMS : CONTENT_TYPES;
  if (typeof t.contentType !== 'string' || !names.includes(t.contentType)) return { ok: false, reason: `task contentType is not one of ${names.join(', ')}` };
  if (typeof t.scheduledAt !== 'string' || Number.isNaN(Date.parse(t.scheduledAt))) return { ok: false, reason: 'task scheduledAt is not a time' };
  return { ok: true, task: { v: 1, kind: t.kind, tenantId: t.tenantId.toLowerCase(), contentType: t.contentType as PollTask['contentType'], scheduledAt: t.scheduledAt } };
}
