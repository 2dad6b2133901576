import type { EventData, EventDataBatch, EventHubProducerClient } from '@azure/event-hubs';
import { describe, expect, it } from 'vitest';
import { EventHubsSink, MAX_BATCH_BYTES } from '../../../../shared/adapters/eventHubs/eventHubsSink.js';

const HUB_LIMIT = 1024 * 1024;

/** The two producer calls the sink makes, with batches that count their bytes as the SDK's do (roughly). */
function fakeProducer() {
  const sent: { count: number; bytes: number; limit: number }[] = [];
  let release: (() => void)[] = [];
  let hold = false;
  const producer = {
    async createBatch(options: { maxSizeInBytes?: number } = {}) {
      const limit = options.maxSizeInBytes ?? HUB_LIMIT;
      let bytes = 0;
      let count = 0;
      return {
        get count() {
          return count;
        },
        maxSizeInBytes: limit,
        tryAdd(data: EventData) {
          const size = (data.body as Buffer).length + 64;
          if (bytes + size > limit) return false;
          bytes += size;
          count++;
          return true;
        },
        get sizeInBytes() {
          return bytes;
        },
      } as unknown as EventDataBatch;
    },
    async sendBatch(batch: EventDataBatch) {
      sent.push({ count: batch.count, bytes: (batch as unknown as { sizeInBytes: number }).sizeInBytes, limit: batch.maxSizeInBytes });
      if (hold) await new Promise<void>((r) => release.push(r));
    },
  };
  return {
    producer: producer as unknown as EventHubProducerClient,
    sent,
    hold: (on: boolean) => {
      hold = on;
      if (!on) {
        for (const r of release) r();
        release = [];
      }
    },
  };
}

const event = (i: number, size = 1000) => ({ body: JSON.stringify({ i, pad: 'x'.repeat(size) }), messageId: `m${i}`, properties: {} });

describe('EventHubsSink batches', () => {
  it('cuts batches at 64 KiB, so a resent batch (a lost acknowledgement) repeats about fifty events, not the eight hundred of a full batch', async () => {
    const fake = fakeProducer();
    const publication = new EventHubsSink(fake.producer).open({ partitionKey: 'p' });
    for (let i = 0; i < 2000; i++) await publication.add(event(i));
    await publication.flush();
    expect(publication.acknowledged).toBe(2000);
    expect(fake.sent.reduce((n, b) => n + b.count, 0)).toBe(2000);
    expect(fake.sent.every((b) => b.limit === MAX_BATCH_BYTES && b.bytes <= MAX_BATCH_BYTES)).toBe(true);
    expect(Math.max(...fake.sent.map((b) => b.count))).toBeLessThanOrEqual(65);
  });

  it('an event larger than a cut batch goes out alone in a batch of the hub size, in order', async () => {
    const fake = fakeProducer();
    const publication = new EventHubsSink(fake.producer).open({});
    await publication.add(event(1));
    await publication.add(event(2, 100_000));
    await publication.add(event(3));
    await publication.flush();
    expect(fake.sent.map((b) => [b.count, b.limit])).toEqual([[1, MAX_BATCH_BYTES], [1, HUB_LIMIT], [1, MAX_BATCH_BYTES]]);
    expect(publication.acknowledged).toBe(3);
  });

  it('counts a batch as acknowledged as soon as its send resolved, without waiting for the next to need a slot', async () => {
    const fake = fakeProducer();
    const publication = new EventHubsSink(fake.producer).open({});
    let i = 0;
    while (fake.sent.length < 1) await publication.add(event(i++));
    await new Promise((r) => setImmediate(r));
    await publication.add(event(i++));
    // One batch out and acknowledged; before, the count moved only when a third send needed a slot.
    expect(publication.acknowledged).toBe(fake.sent[0]!.count);
  });
});
