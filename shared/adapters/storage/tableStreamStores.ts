import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { streamId, type AnyStreamKey, type StreamKey } from '../../core/model.js';
import { PermanentError } from '../../core/errors.js';
import { utcHourOf } from '../../core/windows.js';
import type { GapStore, ListingLog, SweepStore } from '../../ports.js';
import type { GapHeal, GapRecord } from '../../core/gaps.js';
import type { CallOptions } from '../../core/io.js';
import type { ListingFact, SweepState } from '../../core/ledger.js';
import { statusOf, storageError } from './clients.js';

/** Entity group transactions take at most 100 operations, all in one partition. */
const BATCH = 100;

/**
 * Listing facts in Table storage: partition = `tenant|contentType|hour`, row = contentId. One hour of a
 * stream is one partition, so a fact write is one transaction per hour touched and a read is a partition query.
 */
export class TableListingLog implements ListingLog {
  constructor(private readonly table: TableClient) {}

  async record(stream: StreamKey, facts: readonly ListingFact[], options: CallOptions = {}): Promise<void> {
    const byHour = new Map<string, Map<string, ListingFact>>();
    for (const fact of facts) {
      const hour = utcHourOf(fact.contentCreated);
      let ids = byHour.get(hour);
      if (!ids) byHour.set(hour, (ids = new Map()));
      ids.set(fact.contentId, fact);
    }
    for (const [hour, ids] of byHour) {
      const partitionKey = `${streamId(stream)}|${hour}`;
      const all = [...ids.values()];
      for (let i = 0; i < all.length; i += BATCH) {
        const actions: TransactionAction[] = all
          .slice(i, i + BATCH)
          .map((f) => ['upsert', { partitionKey, rowKey: f.contentId, contentCreated: f.contentCreated, listedAt: f.listedAt, by: f.by }, 'Merge']);
        try {
          await this.table.submitTransaction(actions, { abortSignal: options.abortSignal });
        } catch (err) {
          throw storageError(`listing facts ${partitionKey}`, err);
        }
      }
    }
  }

  async *hour(stream: StreamKey, hour: string, options: CallOptions = {}): AsyncIterable<ListingFact> {
    const partitionKey = `${streamId(stream)}|${hour}`;
    try {
      for await (const e of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` }, abortSignal: options.abortSignal })) {
        yield { contentId: String(e.rowKey), contentCreated: String(e.contentCreated), listedAt: String(e.listedAt), by: e.by as ListingFact['by'] };
      }
    } catch (err) {
      throw storageError(`listing facts ${partitionKey}`, err);
    }
  }

  async *range(stream: StreamKey, fromHour: string, toHour: string, options: CallOptions = {}): AsyncIterable<ListingFact> {
    // Hours sort as text, so the hours' partitions are one key range.
    const filter = odata`PartitionKey ge ${`${streamId(stream)}|${fromHour}`} and PartitionKey lt ${`${streamId(stream)}|${toHour}`}`;
    try {
      for await (const e of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter }, abortSignal: options.abortSignal })) {
        yield { contentId: String(e.rowKey), contentCreated: String(e.contentCreated), listedAt: String(e.listedAt), by: e.by as ListingFact['by'] };
      }
    } catch (err) {
      throw storageError(`listing facts ${streamId(stream)} ${fromHour}..${toHour}`, err);
    }
  }

  async deleteHour(stream: StreamKey, hour: string, options: CallOptions = {}): Promise<void> {
    const partitionKey = `${streamId(stream)}|${hour}`;
    const ids: string[] = [];
    for await (const fact of this.hour(stream, hour, options)) ids.push(fact.contentId);
    for (let i = 0; i < ids.length; i += BATCH) {
      const actions: TransactionAction[] = ids.slice(i, i + BATCH).map((rowKey) => ['delete', { partitionKey, rowKey }]);
      try {
        await this.table.submitTransaction(actions, { abortSignal: options.abortSignal });
      } catch (err) {
        throw storageError(`listing facts delete ${partitionKey}`, err);
      }
    }
  }
}

/** Gap records: partition = `tenant|contentType`, row = the gap's start; the heal state as JSON. */
export class TableGapStore implements GapStore {
  constructor(private readonly table: TableClient) {}

  async record(gap: GapRecord, options: CallOptions = {}): Promise<void> {
    const { heal, ...fields } = gap;
    const entity = {
      partitionKey: streamId(gap as unknown as AnyStreamKey),
      rowKey: gap.start,
      ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
      ...(heal && { heal: JSON.stringify(heal) }),
    };
    try {
      await this.table.upsertEntity(entity, 'Replace', { abortSignal: options.abortSignal });
    } catch (err) {
      throw storageError(`gap record ${entity.partitionKey}`, err);
    }
  }

  async list(stream: AnyStreamKey, options: CallOptions = {}): Promise<GapRecord[]> {
    return this.query(odata`PartitionKey eq ${streamId(stream)}`, options);
  }

  async listAll(options: CallOptions = {}): Promise<GapRecord[]> {
    return this.query(undefined, options);
  }

  async updateHeal(stream: AnyStreamKey, start: string, heal: GapHeal, options: CallOptions = {}): Promise<boolean> {
    const columns = healColumns(JSON.stringify(heal));
    try {
      // Merge touches the heal columns only; a gap deleted meanwhile answers 404 instead of being recreated.
      await this.table.updateEntity({ partitionKey: streamId(stream), rowKey: start, ...columns }, 'Merge', { abortSignal: options.abortSignal });
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw storageError(`gap heal ${streamId(stream)}`, err);
    }
  }

  async remove(stream: AnyStreamKey, start: string, options: CallOptions = {}): Promise<void> {
    try {
      await this.table.deleteEntity(streamId(stream), start, { abortSignal: options.abortSignal });
    } catch (err) {
      if (statusOf(err) !== 404) throw storageError(`gap remove ${streamId(stream)}`, err);
    }
  }

  private async query(filter: string | undefined, options: CallOptions): Promise<GapRecord[]> {
    const gaps: GapRecord[] = [];
    try {
      for await (const e of this.table.listEntities<Record<string, unknown>>({ queryOptions: filter ? { filter } : undefined, abortSignal: options.abortSignal })) {
        gaps.push({
          tenantId: String(e.tenantId),
          contentType: String(e.contentType),
          start: String(e.start),
          end: String(e.end),
          cause: e.cause as GapRecord['cause'],
          recordedAt: String(e.recordedAt),
          provisional: typeof e.provisional === 'boolean' ? e.provisional : undefined,
          heal: healOf(e),
        });
      }
    } catch (err) {
      throw storageError('gap list', err);
    }
    return gaps.sort((a, b) => a.start.localeCompare(b.start));
  }
}

/**
 * A table string property holds at most 32K UTF-16 characters, and a heal of a long outage (hundreds of
 * queries, each with its next link) is longer: its JSON is split over `heal`, `heal1`, `heal2`, … with the
 * number of parts in `healParts`, within the entity's 1 MiB.
 */
const HEAL_PART_CHARS = 30_000;
const HEAL_MAX_PARTS = 15;

function healColumns(json: string): Record<string, string | number> {
  const parts = Math.max(1, Math.ceil(json.length / HEAL_PART_CHARS));
  if (parts > HEAL_MAX_PARTS) throw new PermanentError('StateTooLarge', `the heal state of a gap is ${json.length} characters, more than a table row holds (${HEAL_PART_CHARS * HEAL_MAX_PARTS})`);
  const columns: Record<string, string | number> = { healParts: parts };
  for (let i = 0; i < parts; i++) columns[i === 0 ? 'heal' : `heal${i}`] = json.slice(i * HEAL_PART_CHARS, (i + 1) * HEAL_PART_CHARS);
  return columns;
}

function healOf(e: Record<string, unknown>): GapRecord['heal'] {
  if (typeof e.heal !== 'string') return undefined;
  const parts = typeof e.healParts === 'number' ? e.healParts : 1;
  let json = e.heal;
  for (let i = 1; i < parts; i++) json += String(e[`heal${i}`] ?? '');
  return JSON.parse(json) as GapRecord['heal'];
}

/** The last sweep per stream: partition = tenant, row = content type; lateness samples as JSON. */
export class TableSweepStore implements SweepStore {
  constructor(private readonly table: TableClient) {}

  async read(stream: StreamKey, options: CallOptions = {}): Promise<SweepState | undefined> {
    try {
      const e = await this.table.getEntity<Record<string, unknown>>(stream.tenantId, stream.contentType, { abortSignal: options.abortSignal });
      const n = (key: string) => (typeof e[key] === 'number' ? (e[key] as number) : 0);
      const s = (key: string) => (typeof e[key] === 'string' ? (e[key] as string) : undefined);
      return {
        lastSweepAt: s('lastSweepAt'),
        lastOutcome: s('lastOutcome') as SweepState['lastOutcome'],
        lastError: s('lastError'),
        windows: n('windows'),
        blobsListed: n('blobsListed'),
        blobsFound: n('blobsFound'),
        apiCalls: n('apiCalls'),
        tableOps: n('tableOps'),
        durationMs: n('durationMs'),
        lateness: typeof e.lateness === 'string' ? (JSON.parse(e.lateness) as SweepState['lateness']) : [],
      };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw storageError(`sweep read ${streamId(stream)}`, err);
    }
  }

  async write(stream: StreamKey, state: SweepState, options: CallOptions = {}): Promise<void> {
    const { lateness, ...fields } = state;
    const entity = {
      partitionKey: stream.tenantId,
      rowKey: stream.contentType,
      ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
      lateness: JSON.stringify(lateness),
    };
    try {
      await this.table.upsertEntity(entity, 'Replace', { abortSignal: options.abortSignal });
    } catch (err) {
      throw storageError(`sweep write ${streamId(stream)}`, err);
    }
  }
}
