import { hourStart } from '../../core/invariant.js';
import { isSecurityStream, type AnyStreamKey } from '../../core/model.js';
import type { Ledger, ListingLog } from '../../ports.js';
import type { CallOptions } from '../../core/io.js';
import type { LedgerEntry, ListingFact } from '../../core/ledger.js';

/** Reads one stream's facts and ledger rows by hour range. */
export class RangeReader {
  constructor(
    private readonly stream: AnyStreamKey,
    private readonly deps: { readonly ledger: Ledger; readonly listings: ListingLog },
    private readonly call: CallOptions,
  ) {}

  /** Listing facts of the hours in [from, to) (none for a Defender XDR stream). */
  async facts(from: string, to: string): Promise<ListingFact[]> {
    if (isSecurityStream(this.stream)) return [];
    const facts: ListingFact[] = [];
    for await (const fact of this.deps.listings.range(this.stream, from, to, this.call)) facts.push(fact);
    return facts;
  }

  /** Ledger rows whose contentCreated lies in the hours [from, to) (`to` undefined: no end). */
  async rows(from: string, to: string | undefined): Promise<LedgerEntry[]> {
    const rows: LedgerEntry[] = [];
    const filter = { createdFrom: new Date(hourStart(from)).toISOString(), createdTo: to === undefined ? undefined : new Date(hourStart(to)).toISOString() };
    for await (const row of this.deps.ledger.query(this.stream, filter, this.call)) rows.push(row);
    return rows;
  }
}
