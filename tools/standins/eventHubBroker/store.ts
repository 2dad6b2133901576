import type { ReceivedEvent } from './broker.js';
import type { DecodedEvent } from './codec.js';
import { partitionIndexForKey } from './partitionKey.js';

/** An accepted event as a partition keeps it: what tests see plus the verbatim encoding consumers get. */
export interface StoredEvent {
  readonly event: ReceivedEvent;
  readonly encoded: Buffer;
}

/** Thrown for a start-position filter the broker does not understand; the receiver link is refused. */
export class StartPositionError extends Error {
  override name = 'StartPositionError';
}

const START_FILTER = /^amqp\.annotation\.(x-opt-offset|x-opt-sequence-number|x-opt-enqueued-time)\s*(>=|>)\s*'([^']*)'$/;

/**
 * One partition's append-only log. Sequence numbers start at 0 and equal the position in the log (nothing
 * expires), and offsets are byte positions: each event's offset is the sum of the encoded sizes before it.
 */
export class PartitionLog {
  readonly events: StoredEvent[] = [];
  private nextOffset = 0;

  constructor(
    readonly hub: string,
    readonly id: string,
  ) {}

  append(decoded: DecodedEvent, routingKey: string | undefined, enqueuedTimeUtc: Date): StoredEvent {
    const event: ReceivedEvent = {
      hub: this.hub,
      partitionId: this.id,
      sequenceNumber: this.events.length,
      offset: String(this.nextOffset),
      enqueuedTimeUtc,
      properties: decoded.properties,
      body: decoded.body,
    };
    const partitionKey = decoded.partitionKey ?? routingKey;
    if (partitionKey !== undefined) event.partitionKey = partitionKey;
    if (decoded.messageId !== undefined) event.messageId = decoded.messageId;
    if (decoded.correlationId !== undefined) event.correlationId = decoded.correlationId;
    if (decoded.contentType !== undefined) event.contentType = decoded.contentType;
    const stored = { event, encoded: decoded.encoded };
    this.events.push(stored);
    this.nextOffset += decoded.encoded.length;
    return stored;
  }

  /** The newest event, if any. */
  last(): ReceivedEvent | undefined {
    return this.events.at(-1)?.event;
  }

  /**
   * Index of the first event a receiver with this selector filter gets; it may equal the log length (the
   * receiver waits for new events). Understands what the SDK sends: `x-opt-offset > '-1'` (earliest),
   * `> '@latest'`, offset, sequence-number and enqueued-time comparisons with `>` or `>=`. No filter means
   * the start of the log.
   */
  startIndex(filter: string | undefined): number {
    if (filter === undefined) return 0;
    const match = START_FILTER.exec(filter.trim());
    if (!match) throw new StartPositionError(`unsupported start-position filter: ${filter}`);
    const [, field, operator, value] = match as unknown as [string, string, string, string];
    const inclusive = operator === '>=';
    if (field === 'x-opt-offset' && value === '@latest') return this.events.length;
    const bound = Number(value);
    if (!Number.isSafeInteger(bound)) throw new StartPositionError(`start position '${value}' is not an integer`);
    switch (field) {
      case 'x-opt-sequence-number':
        return Math.max(0, inclusive ? bound : bound + 1);
      case 'x-opt-offset':
        return this.firstIndex((stored) => compare(Number(stored.event.offset), bound, inclusive));
      default:
        return this.firstIndex((stored) => compare(stored.event.enqueuedTimeUtc.getTime(), bound, inclusive));
    }
  }

  clear(): void {
    this.events.length = 0;
    this.nextOffset = 0;
  }

  private firstIndex(predicate: (stored: StoredEvent) => boolean): number {
    const index = this.events.findIndex(predicate);
    return index === -1 ? this.events.length : index;
  }
}

function compare(actual: number, bound: number, inclusive: boolean): boolean {
  return inclusive ? actual >= bound : actual > bound;
}

/** An event hub: its partitions, the accepted events in acceptance order, and the routing state. */
export class HubLog {
  readonly createdAt = new Date();
  readonly partitions: PartitionLog[];
  readonly accepted: ReceivedEvent[] = [];
  private roundRobin = 0;

  constructor(
    readonly name: string,
    partitionCount: number,
  ) {
    this.partitions = Array.from({ length: partitionCount }, (_, index) => new PartitionLog(name, String(index)));
  }

  /** The partition with exactly this id (`'0'`, `'1'`, ...), or undefined. */
  partition(id: string): PartitionLog | undefined {
    return /^(0|[1-9]\d*)$/.test(id) ? this.partitions[Number(id)] : undefined;
  }

  /** Where a transfer sent to the hub itself goes: its key's hash partition, or the next one round-robin. */
  route(partitionKey: string | undefined): PartitionLog {
    const index =
      partitionKey === undefined
        ? this.roundRobin++ % this.partitions.length
        : partitionIndexForKey(partitionKey, this.partitions.length);
    return this.partitions[index]!;
  }

  /** Appends a transfer's events to one partition with one enqueued time, as the service does for a batch. */
  append(partition: PartitionLog, events: readonly DecodedEvent[], routingKey: string | undefined): StoredEvent[] {
    const enqueuedTimeUtc = new Date();
    const stored = events.map((decoded) => partition.append(decoded, routingKey, enqueuedTimeUtc));
    this.accepted.push(...stored.map((s) => s.event));
    return stored;
  }

  clear(): void {
    for (const partition of this.partitions) partition.clear();
    this.accepted.length = 0;
    this.roundRobin = 0;
  }
}
