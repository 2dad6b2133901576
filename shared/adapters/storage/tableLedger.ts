import type { TableClient } from '@azure/data-tables';
import { mapLimit } from '../../core/concurrency.js';
import { streamId, type AnyStreamKey } from '../../core/model.js';
import type { Ledger } from '../../ports.js';
import type { CallOptions } from '../../core/io.js';
import type { LedgerEntry, LedgerFilter, LedgerPatch, LedgerStatus } from '../../core/ledger.js';
import { odata } from '@azure/data-tables';
import { statusOf, storageError } from './clients.js';

/**
 * The content ledger in Table storage: partition = stream (`tenant|contentType`), row = contentId.
 * Insert-if-absent is a plain create that treats 409 as "already listed", so concurrent pollers
 * cannot both claim a blob.
 */
export class TableLedger implements Ledger {
  constructor(
    private readonly table: TableClient,
    private readonly concurrency = 16,
  ) {}

  async insertIfAbsent(entries: readonly LedgerEntry[], options: CallOptions = {}): Promise<LedgerEntry[]> {
    const inserted = await mapLimit(entries, this.concurrency, async (entry) => {
      try {
        await this.table.createEntity(toEntity(entry), { abortSignal: options.abortSignal });
        return entry;
      } catch (err) {
        if (statusOf(err) === 409) return undefined;
        throw storageError(`ledger insert ${entry.contentId}`, err);
      }
    });
    return inserted.filter((e): e is LedgerEntry => e !== undefined);
  }

  async forget(stream: AnyStreamKey, contentIds: readonly string[], options: CallOptions = {}): Promise<void> {
    const partitionKey = streamId(stream);
    const deleteOne = async (contentId: string) => {
      try {
        await this.table.deleteEntity(partitionKey, contentId, { abortSignal: options.abortSignal });
      } catch (err) {
        if (statusOf(err) !== 404) throw storageError(`ledger forget ${contentId}`, err);
      }
    };
    if (contentIds.length < 4) return void (await mapLimit(contentIds, this.concurrency, deleteOne));
    // Retention deletes many rows of one partition: 100 to a transaction. A transaction fails as a whole
    // when one row is already gone; that batch is then deleted row by row.
    const unique = [...new Set(contentIds)];
    const batches: string[][] = [];
    for (let i = 0; i < unique.length; i += 100) batches.push(unique.slice(i, i + 100));
    await mapLimit(batches, 4, async (batch) => {
      try {
        await this.table.submitTransaction(batch.map((rowKey) => ['delete', { partitionKey, rowKey }]), { abortSignal: options.abortSignal });
      } catch (err) {
        if (statusOf(err) !== 404) throw storageError(`ledger forget ${batch.length} rows`, err);
        await mapLimit(batch, this.concurrency, deleteOne);
      }
    });
  }

  async markEnqueued(stream: AnyStreamKey, contentIds: readonly string[], at: string, options: CallOptions = {}): Promise<void> {
    await mapLimit(contentIds, this.concurrency, async (contentId) => {
      try {
        await this.table.updateEntity({ partitionKey: streamId(stream), rowKey: contentId, enqueuedAt: at }, 'Merge', { abortSignal: options.abortSignal });
      } catch (err) {
        throw storageError(`ledger mark enqueued ${contentId}`, err);
      }
    });
  }

  async update(stream: AnyStreamKey, contentId: string, patch: LedgerPatch, options: CallOptions = {}): Promise<void> {
    const fields: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(patch)) if (value !== undefined) fields[key] = value;
    try {
      await this.table.updateEntity({ partitionKey: streamId(stream), rowKey: contentId, ...fields }, 'Merge', { abortSignal: options.abortSignal });
    } catch (err) {
      throw storageError(`ledger update ${contentId}`, err);
    }
  }

  async *query(stream: AnyStreamKey, filter: LedgerFilter, options: CallOptions = {}): AsyncIterable<LedgerEntry> {
    const clauses = [odata`PartitionKey eq ${streamId(stream)}`];
    if (filter.statuses?.length) clauses.push(`(${filter.statuses.map((status) => odata`status eq ${status}`).join(' or ')})`);
    // ISO-8601 UTC strings of one format order lexically as they do in time.
    if (filter.createdFrom) clauses.push(odata`contentCreated ge ${filter.createdFrom}`);
    if (filter.createdTo) clauses.push(odata`contentCreated lt ${filter.createdTo}`);
    try {
      for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: clauses.join(' and ') }, abortSignal: options.abortSignal })) {
        yield fromEntity(entity);
      }
    } catch (err) {
      throw storageError(`ledger query ${streamId(stream)}`, err);
    }
  }

  async read(stream: AnyStreamKey, contentId: string, options: CallOptions = {}): Promise<{ entry: LedgerEntry; etag: string } | undefined> {
    try {
      const entity = await this.table.getEntity<Record<string, unknown>>(streamId(stream), contentId, { abortSignal: options.abortSignal });
      return { entry: fromEntity(entity), etag: entity.etag };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw storageError(`ledger read ${contentId}`, err);
    }
  }

  async replaceIf(entry: LedgerEntry, etag: string, options: CallOptions = {}): Promise<string | undefined> {
    try {
      const response = await this.table.updateEntity(toEntity(entry), 'Replace', { etag, abortSignal: options.abortSignal });
      return response.etag;
    } catch (err) {
      const status = statusOf(err);
      if (status === 412 || status === 404) return undefined;
      throw storageError(`ledger replace ${entry.contentId}`, err);
    }
  }

  async get(stream: AnyStreamKey, contentId: string, options: CallOptions = {}): Promise<LedgerEntry | undefined> {
    try {
      return fromEntity(await this.table.getEntity(streamId(stream), contentId, { abortSignal: options.abortSignal }));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw storageError(`ledger read ${contentId}`, err);
    }
  }
}

const FIELDS = [
  'tenantId', 'contentType', 'contentUri', 'contentCreated', 'contentExpiration', 'listedAt', 'status', 'enqueuedAt', 'attempts',
  'lastError', 'records', 'events', 'bytes', 'completedAt', 'durationMs', 'resumeOffset', 'foundBy', 'leaseOwner', 'leaseUntil', 'nextAttemptAt',
  'recordsQuarantined', 'brokeAtRecord', 'brokeAtByte',
] as const;

export function toEntity(entry: LedgerEntry): Record<string, unknown> & { partitionKey: string; rowKey: string } {
  const entity: Record<string, unknown> & { partitionKey: string; rowKey: string } = {
    partitionKey: streamId({ tenantId: entry.tenantId, contentType: entry.contentType as AnyStreamKey['contentType'] }),
    rowKey: entry.contentId,
  };
  for (const field of FIELDS) if (entry[field] !== undefined) entity[field] = entry[field];
  return entity;
}

export function fromEntity(entity: Record<string, unknown>): LedgerEntry {
  const pick = <T>(key: string) => (entity[key] === null ? undefined : (entity[key] as T | undefined));
  return {
    tenantId: String(entity.tenantId),
    contentType: String(entity.contentType),
    contentId: String(entity.rowKey),
    contentUri: String(entity.contentUri),
    contentCreated: String(entity.contentCreated),
    contentExpiration: String(entity.contentExpiration),
    listedAt: String(entity.listedAt),
    status: entity.status as LedgerStatus,
    enqueuedAt: pick('enqueuedAt'),
    attempts: pick('attempts'),
    lastError: pick('lastError'),
    records: pick('records'),
    events: pick('events'),
    bytes: pick('bytes'),
    completedAt: pick('completedAt'),
    durationMs: pick('durationMs'),
    resumeOffset: pick('resumeOffset'),
    foundBy: pick('foundBy'),
    leaseOwner: pick('leaseOwner'),
    leaseUntil: pick('leaseUntil'),
    nextAttemptAt: pick('nextAttemptAt'),
    recordsQuarantined: pick('recordsQuarantined'),
    brokeAtRecord: pick('brokeAtRecord'),
    brokeAtByte: pick('brokeAtByte'),
  };
}
