import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { streamId, type AnyStreamKey } from '../../core/model.js';
import type { SummaryStore } from '../../ports.js';
import type { HourSummary, InvariantViolation, SummaryProgress } from '../../core/accounting.js';
import type { CallOptions } from '../../core/io.js';
import { statusOf, storageError } from './clients.js';

/** Entity group transactions take at most 100 operations, all in one partition. */
const BATCH = 100;
/** The progress row's key; hours (`2026-11-20T10`) start with a digit and sort before it. */
const PROGRESS = 'progress';

const COUNTS = [
  'listed', 'ledger', 'done', 'expired', 'missing', 'failed', 'poisoned', 'pending', 'unknown', 'records', 'events', 'quarantined', 'awaitingInsert', 'notInLedger', 'pastHorizon', 'countMismatch',
] as const;

/**
 * Hour summaries in Table storage: partition = stream (`tenant|contentType`), row = hour, the counts as
 * properties and the named violations as JSON; one `progress` row per stream.
 */
export class TableSummaryStore implements SummaryStore {
  constructor(private readonly table: TableClient) {}

  async write(stream: AnyStreamKey, summaries: readonly HourSummary[], options: CallOptions = {}): Promise<void> {
    const partitionKey = streamId(stream);
    for (let i = 0; i < summaries.length; i += BATCH) {
      const actions: TransactionAction[] = summaries.slice(i, i + BATCH).map((s) => {
        const entity: Record<string, unknown> & { partitionKey: string; rowKey: string } = { partitionKey, rowKey: s.hour, holds: s.holds, final: s.final, computedAt: s.computedAt, examples: JSON.stringify(s.examples) };
        for (const key of COUNTS) entity[key] = s[key];
        return ['upsert', entity, 'Replace'];
      });
      try {
        await this.table.submitTransaction(actions, { abortSignal: options.abortSignal });
      } catch (err) {
        throw storageError(`summaries write ${partitionKey}`, err);
      }
    }
  }

  async range(stream: AnyStreamKey, fromHour: string, toHour: string, options: CallOptions = {}): Promise<HourSummary[]> {
    const partitionKey = streamId(stream);
    const out: HourSummary[] = [];
    try {
      const filter = odata`PartitionKey eq ${partitionKey} and RowKey ge ${fromHour} and RowKey lt ${toHour}`;
      for await (const e of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter }, abortSignal: options.abortSignal })) {
        const counts = Object.fromEntries(COUNTS.map((key) => [key, typeof e[key] === 'number' ? e[key] : 0])) as Record<(typeof COUNTS)[number], number>;
        out.push({
          hour: String(e.rowKey),
          ...counts,
          holds: e.holds === true,
          final: e.final === true,
          computedAt: String(e.computedAt),
          examples: typeof e.examples === 'string' ? (JSON.parse(e.examples) as InvariantViolation[]) : [],
        });
      }
    } catch (err) {
      throw storageError(`summaries read ${partitionKey}`, err);
    }
    return out.sort((a, b) => a.hour.localeCompare(b.hour));
  }

  async deleteBefore(stream: AnyStreamKey, hour: string, options: CallOptions = {}): Promise<void> {
    const partitionKey = streamId(stream);
    const keys: string[] = [];
    try {
      const filter = odata`PartitionKey eq ${partitionKey} and RowKey lt ${hour}`;
      for await (const e of this.table.listEntities({ queryOptions: { filter, select: ['RowKey'] }, abortSignal: options.abortSignal })) keys.push(String(e.rowKey));
      for (let i = 0; i < keys.length; i += BATCH) {
        await this.table.submitTransaction(keys.slice(i, i + BATCH).map((rowKey) => ['delete', { partitionKey, rowKey }]), { abortSignal: options.abortSignal });
      }
    } catch (err) {
      throw storageError(`summaries delete ${partitionKey}`, err);
    }
  }

  async progress(stream: AnyStreamKey, options: CallOptions = {}): Promise<SummaryProgress> {
    try {
      const e = await this.table.getEntity<Record<string, unknown>>(streamId(stream), PROGRESS, { abortSignal: options.abortSignal });
      const s = (key: string) => (typeof e[key] === 'string' ? (e[key] as string) : undefined);
      return { finalizedThrough: s('finalizedThrough'), finalizedFrom: s('finalizedFrom'), purgedThrough: s('purgedThrough'), recountNext: s('recountNext') };
    } catch (err) {
      if (statusOf(err) === 404) return {};
      throw storageError(`summaries progress ${streamId(stream)}`, err);
    }
  }

  async writeProgress(stream: AnyStreamKey, progress: SummaryProgress, options: CallOptions = {}): Promise<void> {
    const entity = { partitionKey: streamId(stream), rowKey: PROGRESS, ...Object.fromEntries(Object.entries(progress).filter(([, v]) => v !== undefined)) };
    try {
      await this.table.upsertEntity(entity, 'Replace', { abortSignal: options.abortSignal });
    } catch (err) {
      throw storageError(`summaries progress ${streamId(stream)}`, err);
    }
  }
}
