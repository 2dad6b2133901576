/**
 * An in-memory stand-in for the few TableClient calls the request budget makes (get, create, update,
 * delete, list). It answers like the service: a new ETag on every write, 404 for a missing row, 409 for
 * a create that finds one, 412 for an update whose ETag is stale, errors carrying `statusCode` and `code`
 * as the SDK's RestError does. Every call yields once before it acts, so callers running at the same
 * time interleave and race as they do against a real table. It fakes the SDK's surface, not our adapter.
 */
export class MemoryTableRows {
  readonly rows = new Map<string, Record<string, unknown> & { partitionKey: string; rowKey: string; etag: string }>();
  /** Calls made, by operation; conflicts (409 and 412 answers) counted apart. */
  readonly calls = { get: 0, create: 0, update: 0, delete: 0, list: 0, conflicts: 0 };
  /** While set, every call fails as an unreachable endpoint does. */
  unreachable = false;
  private version = 0;

  private key(partitionKey: string, rowKey: string): string {
    return `${partitionKey}\u0000${rowKey}`;
  }

  private async enter(signal: AbortSignal | undefined): Promise<void> {
    await Promise.resolve();
    if (signal?.aborted) throw Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });
    if (this.unreachable) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:10002'), { code: 'ECONNREFUSED' });
  }

  async getEntity(partitionKey: string, rowKey: string, options?: { abortSignal?: AbortSignal }): Promise<{ etag: string } & Record<string, unknown>> {
    this.calls.get++;
    await this.enter(options?.abortSignal);
    const row = this.rows.get(this.key(partitionKey, rowKey));
    if (!row) throw restError(404, 'ResourceNotFound');
    return { ...row };
  }

  async createEntity(entity: { partitionKey: string; rowKey: string } & Record<string, unknown>, options?: { abortSignal?: AbortSignal }): Promise<{ etag?: string }> {
    this.calls.create++;
    await this.enter(options?.abortSignal);
    const key = this.key(entity.partitionKey, entity.rowKey);
    if (this.rows.has(key)) {
      this.calls.conflicts++;
      throw restError(409, 'EntityAlreadyExists');
    }
    const etag = this.nextEtag();
    this.rows.set(key, { ...entity, etag });
    return { etag };
  }

  async updateEntity(
    entity: { partitionKey: string; rowKey: string } & Record<string, unknown>,
    mode: 'Merge' | 'Replace' = 'Merge',
    options?: { etag?: string; abortSignal?: AbortSignal },
  ): Promise<{ etag?: string }> {
    this.calls.update++;
    await this.enter(options?.abortSignal);
    const key = this.key(entity.partitionKey, entity.rowKey);
    const row = this.rows.get(key);
    if (!row) throw restError(404, 'ResourceNotFound');
    if (options?.etag !== undefined && options.etag !== '*' && options.etag !== row.etag) {
      this.calls.conflicts++;
      throw restError(412, 'UpdateConditionNotSatisfied');
    }
    const etag = this.nextEtag();
    this.rows.set(key, mode === 'Merge' ? { ...row, ...entity, etag } : { ...entity, etag });
    return { etag };
  }

  async deleteEntity(partitionKey: string, rowKey: string, options?: { abortSignal?: AbortSignal }): Promise<unknown> {
    this.calls.delete++;
    await this.enter(options?.abortSignal);
    if (!this.rows.delete(this.key(partitionKey, rowKey))) throw restError(404, 'ResourceNotFound');
    return {};
  }

  /** Supports the filters the budget sends: clauses `PartitionKey|RowKey eq|lt|le|gt|ge '<value>'` joined by `and`. */
  listEntities(options?: { queryOptions?: { filter?: string; select?: string[] }; abortSignal?: AbortSignal }): AsyncIterable<{ partitionKey?: string; rowKey?: string } & Record<string, unknown>> {
    this.calls.list++;
    const test = compileFilter(options?.queryOptions?.filter);
    const enter = () => this.enter(options?.abortSignal);
    const rows = () => [...this.rows.values()];
    return {
      async *[Symbol.asyncIterator]() {
        await enter();
        for (const row of rows()) if (test(row)) yield { ...row };
      },
    };
  }

  /** Rows of one partition, by row key. */
  partition(partitionKey: string): Array<Record<string, unknown> & { rowKey: string }> {
    return [...this.rows.values()].filter((r) => r.partitionKey === partitionKey).sort((a, b) => (a.rowKey < b.rowKey ? -1 : 1));
  }

  private nextEtag(): string {
    return `W/"datetime'${++this.version}'"`;
  }
}

function restError(statusCode: number, code: string): Error {
  return Object.assign(new Error(JSON.stringify({ 'odata.error': { code, message: { value: code } } })), { name: 'RestError', statusCode, code });
}

function compileFilter(filter: string | undefined): (row: Record<string, unknown>) => boolean {
  if (!filter) return () => true;
  const clauses = filter.split(/\s+and\s+/).map((clause) => {
    const m = /^\(?\s*(PartitionKey|RowKey)\s+(eq|lt|le|gt|ge)\s+'((?:[^']|'')*)'\s*\)?$/.exec(clause.trim());
    if (!m) throw new Error(`MemoryTableRows: unsupported filter clause ${clause}`);
    const [, field, op, quoted] = m;
    const value = quoted!.replaceAll("''", "'");
    const key = field === 'PartitionKey' ? 'partitionKey' : 'rowKey';
    return (row: Record<string, unknown>) => {
      const v = String(row[key]);
      switch (op) {
        case 'eq':
          return v === value;
        case 'lt':
          return v < value;
        case 'le':
          return v <= value;
        case 'gt':
          return v > value;
        default:
          return v >= value;
      }
    };
  });
  return (row) => clauses.every((c) => c(row));
}
