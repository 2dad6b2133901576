import type { TableClient } from '@azure/data-tables';
import type { AnyStreamKey } from '../../core/model.js';
import type { CursorStore } from '../../ports.js';
import type { CallOptions } from '../../core/io.js';
import type { CursorState, SubscriptionState } from '../../core/ledger.js';
import { statusOf, storageError } from './clients.js';

/**
 * Stream cursors in Table storage: partition = tenant, row = content type. Every write is
 * conditional on the ETag read (or on absence), so two pollers can never silently overwrite each
 * other; the loser learns it and stops that stream for the run.
 */
export class TableCursorStore implements CursorStore {
  constructor(private readonly table: TableClient) {}

  async read(stream: AnyStreamKey, options: CallOptions = {}): Promise<{ state: CursorState; etag: string } | undefined> {
    try {
      const entity = await this.table.getEntity<Record<string, unknown>>(stream.tenantId, stream.contentType, { abortSignal: options.abortSignal });
      return { state: fromEntity(entity), etag: entity.etag };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw storageError(`cursor read ${stream.tenantId}|${stream.contentType}`, err);
    }
  }

  async write(stream: AnyStreamKey, state: CursorState, etag: string | undefined, options: CallOptions = {}): Promise<string | undefined> {
    const entity = { partitionKey: stream.tenantId, rowKey: stream.contentType, ...defined(state) };
    try {
      // Replace (not merge) so cleared fields such as lastError really disappear.
      const response = etag === undefined
        ? await this.table.createEntity(entity, { abortSignal: options.abortSignal })
        : await this.table.updateEntity(entity, 'Replace', { etag, abortSignal: options.abortSignal });
      return response.etag;
    } catch (err) {
      const status = statusOf(err);
      if (status === 412 || (etag === undefined && status === 409)) return undefined;
      throw storageError(`cursor write ${stream.tenantId}|${stream.contentType}`, err);
    }
  }
}

function defined(state: CursorState): Record<string, unknown> {
  return Object.fromEntries(Object.entries(state).filter(([, v]) => v !== undefined));
}

function fromEntity(e: Record<string, unknown>): CursorState {
  const s = (key: string) => (typeof e[key] === 'string' ? (e[key] as string) : undefined);
  const n = (key: string) => (typeof e[key] === 'number' ? (e[key] as number) : 0);
  return {
    cursor: s('cursor'),
    subscription: (s('subscription') as SubscriptionState | undefined) ?? 'unknown',
    lastStartAt: s('lastStartAt'),
    lastRunAt: s('lastRunAt'),
    lastSuccessAt: s('lastSuccessAt'),
    lastErrorCode: s('lastErrorCode'),
    lastError: s('lastError'),
    lastErrorAt: s('lastErrorAt'),
    consecutiveFailures: n('consecutiveFailures'),
    gapCount: n('gapCount'),
    gapTotalMs: n('gapTotalMs'),
    lastGapStart: s('lastGapStart'),
    lastGapEnd: s('lastGapEnd'),
    intendedStart: s('intendedStart'),
    enabledAt: s('enabledAt'),
    disabledSince: s('disabledSince'),
    coverageStart: s('coverageStart'),
    recentRevisions: s('recentRevisions'),
  };
}
