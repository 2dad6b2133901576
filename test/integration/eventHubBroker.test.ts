import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  EventHubBufferedProducerClient,
  EventHubConsumerClient,
  EventHubProducerClient,
  earliestEventPosition,
  latestEventPosition,
  type EventData,
  type EventPosition,
  type LastEnqueuedEventProperties,
  type ReceivedEventData,
  type RetryOptions,
} from '@azure/event-hubs';
import rhea, { type Connection, type EventContext, type Receiver, type Sender } from 'rhea';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEventHubBroker, type EventHubBroker, type ReceivedEvent } from '../../tools/standins/eventHubBroker/index.js';
import { localServerTls } from '../../tools/local/localPki.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Short retries so fault tests finish fast; timeoutInMs bounds how long the SDK waits for an unsettled send. */
const RETRY: RetryOptions = { maxRetries: 3, retryDelayInMs: 50, maxRetryDelayInMs: 200, timeoutInMs: 5_000 };

const clients: { close(): Promise<void> }[] = [];
/** Registers an SDK client (or raw connection) to be closed after the test. */
function track<T extends { close(): Promise<void> }>(client: T): T {
  clients.push(client);
  return client;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

function producerFor(broker: EventHubBroker, hub = 'audit', retryOptions: RetryOptions = RETRY): EventHubProducerClient {
  return track(new EventHubProducerClient(broker.connectionString(), hub, { retryOptions }));
}

/** An event shaped like the pipeline's: JSON bytes, a message id, a content type and routing properties. */
function auditEvent(n: number, tenant = 'tenant-a'): EventData & { body: Buffer; messageId: string } {
  const record = { id: `${tenant}-record-${n}`, tenantId: tenant, workload: 'Exchange', operation: 'MailItemsAccessed', seq: n };
  return {
    body: Buffer.from(JSON.stringify(record), 'utf8'),
    messageId: record.id,
    contentType: 'application/json',
    properties: { recordType: 50, workload: 'Exchange', schemaVersion: '1' },
  };
}

/**
 * Subscribes to one partition from `startPosition` and collects events until there are at least `count`.
 * `onReady` runs at the first processEvents call, i.e. once the receive link is attached and pumping.
 */
async function receive(
  broker: EventHubBroker,
  partitionId: string,
  count: number,
  startPosition: EventPosition,
  options: { onReady?: () => Promise<void>; trackLastEnqueuedEventProperties?: boolean } = {},
): Promise<{ events: ReceivedEventData[]; lastEnqueued?: LastEnqueuedEventProperties }> {
  const consumer = track(new EventHubConsumerClient('$Default', broker.connectionString('audit'), { retryOptions: RETRY }));
  const events: ReceivedEventData[] = [];
  let ready = false;
  let lastEnqueued: LastEnqueuedEventProperties | undefined;
  await new Promise<void>((resolve, reject) => {
    const subscription = consumer.subscribe(
      partitionId,
      {
        processEvents: async (batch, context) => {
          if (!ready) {
            ready = true;
            await options.onReady?.();
          }
          events.push(...batch);
          if (batch.length > 0) lastEnqueued = { ...context.lastEnqueuedEventProperties };
          if (events.length >= count) {
            await subscription.close();
            resolve();
          }
        },
        processError: async (error) => reject(error),
      },
      {
        startPosition,
        maxWaitTimeInSeconds: 0.2,
        skipParsingBodyAsJson: true,
        trackLastEnqueuedEventProperties: options.trackLastEnqueuedEventProperties ?? false,
      },
    );
  });
  return lastEnqueued ? { events, lastEnqueued } : { events };
}

/** The leaf errors of the SDK's (possibly nested) AggregateError of per-attempt failures. */
function leafErrors(error: unknown): { code?: string; message: string }[] {
  return error instanceof AggregateError ? error.errors.flatMap(leafErrors) : [error as { code?: string; message: string }];
}

async function failureOf(operation: Promise<unknown>): Promise<unknown> {
  try {
    await operation;
  } catch (error) {
    return error;
  }
  throw new Error('expected the operation to fail');
}

function sasToken(resource: string, keyName: string, key: string, expiresAtSeconds: number): string {
  const sr = encodeURIComponent(resource);
  const sig = encodeURIComponent(createHmac('sha256', key).update(`${sr}\n${expiresAtSeconds}`).digest('base64'));
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${expiresAtSeconds}&skn=${encodeURIComponent(keyName)}`;
}

/** A raw rhea client connection, for protocol details the SDK does not expose. */
async function rawConnection(broker: EventHubBroker, options: { username?: string; password?: string } = {}): Promise<Connection> {
  const connection = rhea.create_container().connect({ host: '127.0.0.1', port: broker.port, reconnect: false, ...options });
  await once(connection, 'connection_open');
  track({
    close: async () => {
      if (connection.is_closed()) return;
      const closed = once(connection, 'connection_close');
      connection.close();
      await closed;
    },
  });
  return connection;
}

/** One request/response exchange on `$cbs` or `$management`, the way the SDK does it (reply_to = reply link name). */
async function request(
  connection: Connection,
  address: '$cbs' | '$management',
  properties: Record<string, string>,
  body: unknown,
): Promise<{ status: number; body: unknown }> {
  const replyTo = `reply-${Math.random().toString(16).slice(2)}`;
  const receiver: Receiver = connection.open_receiver({ name: replyTo, source: { address }, target: { address: replyTo } });
  const sender: Sender = connection.open_sender({ target: { address } });
  await once(sender, 'sendable');
  const reply = once(receiver, 'message');
  sender.send({ message_id: `${replyTo}-request`, reply_to: replyTo, application_properties: properties, body });
  const [context] = (await reply) as [EventContext];
  return { status: Number(context.message!.application_properties!['status-code']), body: context.message!.body };
}

const putToken = async (connection: Connection, audience: string, token: string) =>
  (await request(connection, '$cbs', { operation: 'put-token', type: 'servicebus.windows.net:sastoken', name: audience }, token)).status;

describe('test Event Hubs broker with the real @azure/event-hubs SDK', () => {
  let broker: EventHubBroker;
  beforeAll(async () => {
    broker = await startEventHubBroker({ hubs: [{ name: 'audit' }, { name: 'alerts', partitionCount: 2 }] });
  });
  afterAll(async () => {
    await broker.close();
  });
  beforeEach(() => broker.reset());

  it('answers $management reads with the hub layout and live partition state', async () => {
    const producer = producerFor(broker);
    const hub = await producer.getEventHubProperties();
    expect(hub.name).toBe('audit');
    expect(hub.partitionIds).toEqual(['0', '1', '2', '3']);
    expect(hub.createdOn).toBeInstanceOf(Date);
    expect(await producerFor(broker, 'alerts').getPartitionIds()).toEqual(['0', '1']);

    expect(await producer.getPartitionProperties('2')).toMatchObject({
      eventHubName: 'audit',
      partitionId: '2',
      isEmpty: true,
      beginningSequenceNumber: 0,
      lastEnqueuedSequenceNumber: -1,
      lastEnqueuedOffset: '-1',
    });
    await producer.sendBatch([auditEvent(1), auditEvent(2)], { partitionId: '2' });
    const last = broker.events('audit')[1]!;
    expect(await producer.getPartitionProperties('2')).toMatchObject({
      isEmpty: false,
      beginningSequenceNumber: 0,
      lastEnqueuedSequenceNumber: 1,
      lastEnqueuedOffset: last.offset,
      lastEnqueuedOnUtc: last.enqueuedTimeUtc,
    });
    await expect(producer.getPartitionProperties('4')).rejects.toMatchObject({ code: 'MessagingEntityNotFoundError' });
  });

  it('advertises the Standard-tier max message size, which createBatch reports', async () => {
    const batch = await producerFor(broker).createBatch();
    expect(batch.maxSizeInBytes).toBe(1_048_576);
  });

  it('stores keyed batches on one partition with body bytes, ids, content type and properties intact', async () => {
    const producer = producerFor(broker);
    const sent = [auditEvent(1), auditEvent(2), auditEvent(3)];
    const batch = await producer.createBatch({ partitionKey: 'tenant-a' });
    expect(batch.tryAdd(sent[0]!)).toBe(true);
    expect(batch.tryAdd(sent[1]!)).toBe(true);
    await producer.sendBatch(batch);
    await producer.sendBatch([sent[2]!], { partitionKey: 'tenant-a' });

    const stored = broker.events('audit');
    expect(stored).toHaveLength(3);
    expect(new Set(stored.map((e) => e.partitionId)).size).toBe(1);
    stored.forEach((event, i) => {
      expect(event.body.equals(sent[i]!.body)).toBe(true);
      expect(event).toMatchObject({
        hub: 'audit',
        sequenceNumber: i,
        partitionKey: 'tenant-a',
        messageId: sent[i]!.messageId,
        contentType: 'application/json',
        properties: { recordType: 50, workload: 'Exchange', schemaVersion: '1' },
      });
    });
    expect(Number(stored[1]!.offset)).toBeGreaterThan(Number(stored[0]!.offset));
    expect(Number(stored[2]!.offset)).toBeGreaterThan(Number(stored[1]!.offset));
  });

  it('spreads keyless batches round-robin and keeps each batch on one partition', async () => {
    const producer = producerFor(broker);
    for (let n = 0; n < 4; n++) await producer.sendBatch([auditEvent(n), auditEvent(n + 10)]);
    const stored = broker.events('audit');
    expect(stored).toHaveLength(8);
    const batchPartitions = [0, 2, 4, 6].map((i) => stored[i]!.partitionId);
    expect(new Set(batchPartitions)).toEqual(new Set(['0', '1', '2', '3']));
    [0, 2, 4, 6].forEach((i) => expect(stored[i + 1]!.partitionId).toBe(stored[i]!.partitionId));
    expect(stored.every((e) => e.partitionKey === undefined)).toBe(true);
  });

  it('sends to the partition named by partitionId', async () => {
    const producer = producerFor(broker);
    const batch = await producer.createBatch({ partitionId: '2' });
    batch.tryAdd(auditEvent(1));
    await producer.sendBatch(batch);
    await producer.sendBatch([auditEvent(2)], { partitionId: '3' });
    expect(broker.events('audit').map((e) => [e.messageId, e.partitionId, e.sequenceNumber])).toEqual([
      ['tenant-a-record-1', '2', 0],
      ['tenant-a-record-2', '3', 0],
    ]);
  });

  it('hashes partition keys to the partitions the SDK itself computes for the service', async () => {
    const keys = ['tenant-a', 'tenant-b', 'contoso.onmicrosoft.com', 'fabrikam', '7', 'a key longer than twelve bytes', 'ünïcødé'];
    const errors: unknown[] = [];
    const buffered = track(
      new EventHubBufferedProducerClient(broker.connectionString(), 'audit', {
        retryOptions: RETRY,
        maxWaitTimeInMs: 10,
        onSendEventsErrorHandler: (context) => errors.push(context.error),
      }),
    );
    for (const key of keys) await buffered.enqueueEvent({ body: key, properties: { key, via: 'client-hash' } }, { partitionKey: key });
    await buffered.flush();
    const producer = producerFor(broker);
    for (const key of keys) await producer.sendBatch([{ body: key, properties: { key, via: 'broker-hash' } }], { partitionKey: key });

    expect(errors).toEqual([]);
    const partitionOf = (key: string, via: string) =>
      broker.events('audit').find((e) => e.properties.key === key && e.properties.via === via)?.partitionId;
    for (const key of keys) {
      expect(partitionOf(key, 'broker-hash'), key).toBeDefined();
      expect(partitionOf(key, 'broker-hash'), key).toBe(partitionOf(key, 'client-hash'));
    }
    expect(new Set(keys.map((key) => partitionOf(key, 'broker-hash'))).size).toBeGreaterThan(1);
  });

  it('rejects an event larger than the advertised size with an error the SDK surfaces', async () => {
    const error = await failureOf(producerFor(broker).sendBatch([{ body: Buffer.alloc(1_048_577) }]));
    expect(error).toMatchObject({ name: 'MessagingError', code: 'MessageTooLargeError' });
    expect(broker.events('audit')).toEqual([]);
    expect(broker.stats()).toMatchObject({ transfers: 1, rejected: 1 });
  });

  it('serves every event back to EventHubConsumerClient in order, with the stored sequence numbers and offsets', async () => {
    const producer = producerFor(broker);
    const sent = [auditEvent(1), auditEvent(2), auditEvent(3)];
    await producer.sendBatch(sent, { partitionKey: 'tenant-a' });
    await producer.sendBatch([auditEvent(4, 'tenant-b')], { partitionId: '1' });
    const stored = broker.events('audit');
    const consumer = track(new EventHubConsumerClient('$Default', broker.connectionString('audit'), { retryOptions: RETRY }));
    const received = new Map<string, ReceivedEventData[]>();
    await new Promise<void>((resolve, reject) => {
      let total = 0;
      const subscription = consumer.subscribe(
        {
          processEvents: async (events, context) => {
            received.set(context.partitionId, [...(received.get(context.partitionId) ?? []), ...events]);
            total += events.length;
            if (total >= stored.length) {
              await subscription.close();
              resolve();
            }
          },
          processError: async (error) => reject(error),
        },
        { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 0.2, skipParsingBodyAsJson: true },
      );
    });

    const expectMatches = (got: ReceivedEventData, want: ReceivedEvent) => {
      expect(Buffer.from(got.body as Uint8Array).equals(want.body)).toBe(true);
      expect(got.sequenceNumber).toBe(want.sequenceNumber);
      expect(got.offset).toBe(want.offset);
      expect(got.enqueuedTimeUtc.getTime()).toBe(want.enqueuedTimeUtc.getTime());
      expect(got.partitionKey ?? undefined).toBe(want.partitionKey);
      expect(got.messageId).toBe(want.messageId);
      expect(got.contentType).toBe(want.contentType);
      expect(got.properties).toEqual(want.properties);
    };
    for (const [partitionId, events] of received) {
      const want = stored.filter((e) => e.partitionId === partitionId);
      expect(events.map((e) => e.sequenceNumber)).toEqual(want.map((_, i) => i));
      events.forEach((event, i) => expectMatches(event, want[i]!));
    }
    expect([...received.values()].flat()).toHaveLength(4);
  });

  it('honours the start position: sequence number, offset, enqueued time and latest', async () => {
    const producer = producerFor(broker);
    await producer.sendBatch([auditEvent(0), auditEvent(1)], { partitionId: '0' });
    const firstBatchTime = broker.events('audit')[1]!.enqueuedTimeUtc.getTime();
    // The enqueued-time filter is strict (>), so the second batch must get a later millisecond.
    while (Date.now() <= firstBatchTime) await delay(1);
    await producer.sendBatch([auditEvent(2), auditEvent(3)], { partitionId: '0' });
    const second = broker.events('audit')[1]!;
    const sequenceNumbers = async (count: number, position: EventPosition) =>
      (await receive(broker, '0', count, position)).events.map((e) => e.sequenceNumber);

    const [earliest, afterSeq, fromSeq, afterOffset, afterTime] = await Promise.all([
      sequenceNumbers(4, earliestEventPosition),
      sequenceNumbers(2, { sequenceNumber: 1 }),
      sequenceNumbers(3, { sequenceNumber: 1, isInclusive: true }),
      sequenceNumbers(2, { offset: second.offset }),
      sequenceNumbers(2, { enqueuedOn: second.enqueuedTimeUtc }),
    ]);
    expect({ earliest, afterSeq, fromSeq, afterOffset, afterTime }).toEqual({
      earliest: [0, 1, 2, 3],
      afterSeq: [2, 3],
      fromSeq: [1, 2, 3],
      afterOffset: [2, 3],
      afterTime: [2, 3],
    });

    const latest = await receive(broker, '0', 1, latestEventPosition, {
      onReady: () => producer.sendBatch([auditEvent(4)], { partitionId: '0' }),
    });
    expect(latest.events.map((e) => [e.sequenceNumber, e.messageId])).toEqual([[4, 'tenant-a-record-4']]);
  });

  it('reports last-enqueued properties to receivers that track them', async () => {
    await producerFor(broker).sendBatch([auditEvent(1), auditEvent(2), auditEvent(3)], { partitionId: '1' });
    const last = broker.events('audit')[2]!;
    const { lastEnqueued } = await receive(broker, '1', 1, earliestEventPosition, { trackLastEnqueuedEventProperties: true });
    expect(lastEnqueued).toMatchObject({ sequenceNumber: 2, offset: last.offset, enqueuedOn: last.enqueuedTimeUtc });
    expect(lastEnqueued?.retrievedOn).toBeInstanceOf(Date);
  });

  it('answers an unknown hub with MessagingEntityNotFoundError on send and on management reads', async () => {
    const producer = producerFor(broker, 'no-such-hub');
    await expect(producer.sendBatch([auditEvent(1)])).rejects.toMatchObject({ code: 'MessagingEntityNotFoundError' });
    await expect(producer.getEventHubProperties()).rejects.toMatchObject({ code: 'MessagingEntityNotFoundError' });
    expect(() => broker.events('no-such-hub')).toThrow(/unknown hub/);
  });

  it('waitForEvents resolves once enough events arrived and rejects when they do not', async () => {
    const waiting = broker.waitForEvents('audit', 2);
    await producerFor(broker).sendBatch([auditEvent(1), auditEvent(2)]);
    expect((await waiting).map((e) => e.messageId)).toEqual(['tenant-a-record-1', 'tenant-a-record-2']);
    await expect(broker.waitForEvents('audit', 3, 50)).rejects.toThrow(/3 events on hub 'audit'; 2 arrived/);
  });

  it('reset forgets events and counters, and sequence numbers restart at 0', async () => {
    const producer = producerFor(broker);
    await producer.sendBatch([auditEvent(1), auditEvent(2)], { partitionId: '0' });
    broker.reset();
    expect(broker.events('audit')).toEqual([]);
    expect(broker.stats()).toEqual({ connections: 0, transfers: 0, rejected: 0 });
    await producer.sendBatch([auditEvent(3)], { partitionId: '0' });
    expect(broker.events('audit').map((e) => [e.messageId, e.sequenceNumber, e.offset])).toEqual([['tenant-a-record-3', 0, '0']]);
  });

  describe('fault knobs', () => {
    it('serverBusy(n): the SDK retries and every event lands exactly once, as sent', async () => {
      const sent = [auditEvent(1), auditEvent(2), auditEvent(3)];
      broker.faults.serverBusy(2);
      await producerFor(broker).sendBatch(sent, { partitionKey: 'tenant-a' });
      const stored = broker.events('audit');
      expect(stored.map((e) => e.messageId)).toEqual(sent.map((e) => e.messageId));
      stored.forEach((e, i) => expect(e.body.equals(sent[i]!.body)).toBe(true));
      expect(broker.stats()).toMatchObject({ transfers: 3, rejected: 2 });
    });

    it('serverBusy beyond maxRetries: the send fails with ServerBusyError and nothing lands', async () => {
      const producer = producerFor(broker);
      broker.faults.serverBusy(RETRY.maxRetries! + 1);
      const codes = leafErrors(await failureOf(producer.sendBatch([auditEvent(1)]))).map((e) => e.code);
      expect(codes).toEqual(Array(RETRY.maxRetries! + 1).fill('ServerBusyError'));
      expect(broker.events('audit')).toEqual([]);
      await producer.sendBatch([auditEvent(2)]);
      expect(broker.events('audit').map((e) => e.messageId)).toEqual(['tenant-a-record-2']);
    });

    it('detachSenders(): the SDK re-attaches on the same connection and later sends land', async () => {
      const producer = producerFor(broker);
      await producer.sendBatch([auditEvent(1)]);
      await broker.faults.detachSenders();
      await producer.sendBatch([auditEvent(2)]);
      expect(broker.events('audit').map((e) => e.messageId)).toEqual(['tenant-a-record-1', 'tenant-a-record-2']);
      expect(broker.stats()).toEqual({ connections: 1, transfers: 2, rejected: 0 });
    });

    it('dropConnections(): the SDK reconnects and later sends land exactly once', async () => {
      const producer = producerFor(broker, 'audit', { ...RETRY, timeoutInMs: 1_000 });
      await producer.sendBatch([auditEvent(1)]);
      broker.faults.dropConnections();
      // Give the client the idle moment in which it would notice the drop. Should it send before noticing,
      // that send goes nowhere and is retried after timeoutInMs: the outcome asserted below is the same.
      await delay(50);
      await producer.sendBatch([auditEvent(2)]);
      expect(broker.events('audit').map((e) => e.messageId)).toEqual(['tenant-a-record-1', 'tenant-a-record-2']);
      expect(broker.stats().connections).toBe(2);
    });

    it('dropOnTransfer(n): the batch landed but was never acknowledged, so the retry duplicates it', async () => {
      const producer = producerFor(broker, 'audit', { ...RETRY, timeoutInMs: 1_000 });
      broker.faults.dropOnTransfer(1);
      await producer.sendBatch([auditEvent(1), auditEvent(2)]);
      expect(broker.events('audit').map((e) => e.messageId)).toEqual([
        'tenant-a-record-1',
        'tenant-a-record-2',
        'tenant-a-record-1',
        'tenant-a-record-2',
      ]);
      expect(broker.stats()).toMatchObject({ connections: 2, transfers: 2, rejected: 0 });
    });
  });

  describe('AMQP details below the SDK (raw rhea client)', () => {
    it('accepts a single (non-batch) message over SASL PLAIN and routes it by its partition key', async () => {
      const connection = await rawConnection(broker, { username: 'any-user', password: 'any-password' });
      const sender = connection.open_sender({ target: { address: 'audit' } });
      await once(sender, 'sendable');
      const accepted = once(sender, 'accepted');
      sender.send({
        message_id: 'single-1',
        content_type: 'application/json',
        message_annotations: { 'x-opt-partition-key': 'tenant-a' },
        application_properties: { workload: 'Exchange' },
        body: rhea.message.data_section(Buffer.from('{"single":true}')),
      });
      await accepted;
      await producerFor(broker).sendBatch([auditEvent(1)], { partitionKey: 'tenant-a' });
      const [single, batched] = broker.events('audit');
      expect(single).toMatchObject({ messageId: 'single-1', partitionKey: 'tenant-a', contentType: 'application/json', properties: { workload: 'Exchange' } });
      expect(single!.body.toString()).toBe('{"single":true}');
      expect(single!.partitionId).toBe(batched!.partitionId);
    });

    it('detachSenders() detaches with amqp:link:detach-forced and resolves after the client answers', async () => {
      const connection = await rawConnection(broker);
      const sender = connection.open_sender({ target: { address: 'audit' } });
      await once(sender, 'sendable');
      const closed = once(sender, 'sender_close');
      await broker.faults.detachSenders();
      const [context] = (await closed) as [EventContext];
      expect(context.sender!.error).toMatchObject({ condition: 'amqp:link:detach-forced' });
    });
  });
});

describe('test Event Hubs broker with a smaller advertised max message size', () => {
  it('createBatch reports the advertised size and tryAdd refuses what does not fit', async () => {
    const broker = await startEventHubBroker({ hubs: [{ name: 'audit', partitionCount: 1 }], maxMessageSizeInBytes: 262_144 });
    try {
      const batch = await producerFor(broker).createBatch();
      expect(batch.maxSizeInBytes).toBe(262_144);
      expect(batch.tryAdd({ body: Buffer.alloc(300_000) })).toBe(false);
      expect(batch.tryAdd(auditEvent(1))).toBe(true);
    } finally {
      await Promise.all(clients.splice(0).map((client) => client.close()));
      await broker.close();
    }
  });
});

describe('test Event Hubs broker with SAS verification on', () => {
  const sasKey = { keyName: 'pipeline-send', key: 'dGVzdC1vbmx5LXNoYXJlZC1hY2Nlc3Mta2V5' };
  let broker: EventHubBroker;
  beforeAll(async () => {
    broker = await startEventHubBroker({ hubs: [{ name: 'audit' }, { name: 'alerts' }], sasKey });
  });
  afterAll(async () => {
    await broker.close();
  });
  beforeEach(() => broker.reset());

  // The SDK retries UnauthorizedError (keys may have been rotated); one retry keeps refusals quick.
  const FEW_RETRIES: RetryOptions = { ...RETRY, maxRetries: 1 };
  const withToken = (token: string, hub = 'audit') =>
    track(
      new EventHubProducerClient(
        `Endpoint=sb://${broker.fullyQualifiedNamespace};SharedAccessSignature=${token};UseDevelopmentEmulator=true`,
        hub,
        { retryOptions: FEW_RETRIES },
      ),
    );
  const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

  it('accepts a producer that signs with the right key', async () => {
    const producer = producerFor(broker);
    expect((await producer.getEventHubProperties()).partitionIds).toHaveLength(4);
    await producer.sendBatch([auditEvent(1)]);
    expect(broker.events('audit')).toHaveLength(1);
  });

  it('fails a producer that signs with the wrong key with an authorization error', async () => {
    const producer = track(
      new EventHubProducerClient(broker.connectionString().replace(sasKey.key, 'd3Jvbmcta2V5'), 'audit', { retryOptions: FEW_RETRIES }),
    );
    const sendErrors = leafErrors(await failureOf(producer.sendBatch([auditEvent(1)])));
    expect(sendErrors.length).toBeGreaterThan(0);
    expect(sendErrors.every((e) => e.code === 'UnauthorizedError' && /signature/.test(e.message))).toBe(true);
    const readErrors = leafErrors(await failureOf(producer.getEventHubProperties()));
    expect(readErrors.every((e) => e.code === 'UnauthorizedError')).toBe(true);
    expect(broker.events('audit')).toEqual([]);
  });

  it('checks the token audience and expiry, and lets a namespace token cover every hub', async () => {
    const namespace = `sb://${broker.fullyQualifiedNamespace}/`;
    await withToken(sasToken(namespace, sasKey.keyName, sasKey.key, inAnHour())).sendBatch([auditEvent(1)]);
    expect(broker.events('audit')).toHaveLength(1);

    const otherHub = sasToken(`${namespace}alerts`, sasKey.keyName, sasKey.key, inAnHour());
    const audienceErrors = leafErrors(await failureOf(withToken(otherHub).sendBatch([auditEvent(2)])));
    expect(audienceErrors.every((e) => e.code === 'UnauthorizedError' && /audience/.test(e.message))).toBe(true);
    await withToken(otherHub, 'alerts').sendBatch([auditEvent(3)]);
    expect(broker.events('alerts')).toHaveLength(1);

    const expired = sasToken(namespace, sasKey.keyName, sasKey.key, Math.floor(Date.now() / 1000) - 60);
    const expiryErrors = leafErrors(await failureOf(withToken(expired).sendBatch([auditEvent(4)])));
    expect(expiryErrors.every((e) => e.code === 'UnauthorizedError' && /expired/.test(e.message))).toBe(true);
    expect(broker.events('audit')).toHaveLength(1);
  });

  it('refuses links and management reads without a granted claim, and allows them after put-token', async () => {
    const connection = await rawConnection(broker);
    const refused = connection.open_sender({ target: { address: 'audit' } });
    const [context] = (await once(refused, 'sender_close')) as [EventContext];
    expect(context.sender!.error).toMatchObject({ condition: 'amqp:unauthorized-access' });
    const read = () => request(connection, '$management', { operation: 'READ', name: 'audit', type: 'com.microsoft:eventhub' }, Buffer.from('[]'));
    expect((await read()).status).toBe(401);

    const audience = `sb://${broker.fullyQualifiedNamespace}/audit`;
    expect(await putToken(connection, audience, sasToken(audience, sasKey.keyName, 'not-the-key', inAnHour()))).toBe(401);
    expect(await putToken(connection, audience, sasToken(audience, sasKey.keyName, sasKey.key, inAnHour()))).toBe(200);
    const allowed = connection.open_sender({ target: { address: 'audit/Partitions/1' } });
    await once(allowed, 'sendable');
    expect(allowed.is_open()).toBe(true);
    expect(await read()).toMatchObject({ status: 200, body: { name: 'audit', partition_count: 4 } });
  });
});

describe('test Event Hubs broker over AMQPS', () => {
  it('serves a TokenCredential client (CBS jwt) and a SAS client over TLS', async () => {
    const broker = await startEventHubBroker({
      hubs: [{ name: 'audit' }],
      tls: localServerTls(),
      sasKey: { keyName: 'pipeline-send', key: 'dGxzLXRlc3Qta2V5' },
    });
    try {
      expect(broker.fullyQualifiedNamespace).toBe(`127.0.0.1:${broker.port}`);
      const scopes: string[] = [];
      const credential = {
        getToken: async (scope: string | string[]) => {
          scopes.push(...([] as string[]).concat(scope));
          return { token: 'opaque-test-access-token', expiresOnTimestamp: Date.now() + 3_600_000 };
        },
      };
      const producer = track(new EventHubProducerClient(broker.fullyQualifiedNamespace, 'audit', credential, { retryOptions: RETRY }));
      await producer.sendBatch([auditEvent(1)], { partitionKey: 'tenant-a' });
      expect(scopes.length).toBeGreaterThan(0);
      expect(scopes.every((scope) => scope.startsWith('https://eventhubs.azure.net/') && scope.endsWith('.default'))).toBe(true);

      const viaSas = track(new EventHubProducerClient(broker.connectionString('audit'), { retryOptions: RETRY }));
      await viaSas.sendBatch([auditEvent(2)], { partitionKey: 'tenant-a' });

      const consumer = track(new EventHubConsumerClient('$Default', broker.fullyQualifiedNamespace, 'audit', credential));
      const partitionId = broker.events('audit')[0]!.partitionId;
      const read: ReceivedEventData[] = [];
      await new Promise<void>((resolve, reject) => {
        const subscription = consumer.subscribe(
          partitionId,
          {
            processEvents: async (events) => {
              read.push(...events);
              if (read.length < 2) return;
              await subscription.close();
              resolve();
            },
            processError: async (error) => reject(error),
          },
          { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 0.2 },
        );
      });
      expect(broker.events('audit').map((e) => e.messageId)).toEqual(['tenant-a-record-1', 'tenant-a-record-2']);
      expect(read.map((e) => [e.messageId, e.sequenceNumber])).toEqual([
        ['tenant-a-record-1', 0],
        ['tenant-a-record-2', 1],
      ]);
    } finally {
      await Promise.all(clients.splice(0).map((client) => client.close()));
      await broker.close();
    }
  });
});

describe('test Event Hubs broker CLI', () => {
  it('prints a working connection string, writes NDJSON and stops cleanly on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eh-broker-cli-'));
    const out = join(dir, 'events.ndjson');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'tools/standins/eventHubBroker/cli.ts', '--port', '0', '--hub', 'audit', '--partitions', '2', '--out', out],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let stdout = '';
      const connectionString = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const line = stdout.split('\n').find((l) => l.startsWith('Endpoint='));
          if (line) resolve(line.trim());
        });
        child.once('exit', (code) => reject(new Error(`CLI exited early with ${code}: ${stdout}`)));
      });
      const producer = new EventHubProducerClient(connectionString, 'audit', { retryOptions: RETRY });
      const json = auditEvent(1);
      await producer.sendBatch([json, { body: Buffer.from([0xff, 0x00, 0xfe]), messageId: 'binary-1' }], { partitionKey: 'tenant-a' });
      await producer.close();

      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      expect(await exited).toEqual([0, null]);
      const lines = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toEqual([
        {
          hub: 'audit',
          partitionId: lines[0]!.partitionId,
          sequenceNumber: 0,
          partitionKey: 'tenant-a',
          messageId: json.messageId,
          properties: json.properties,
          body: JSON.parse(json.body.toString('utf8')),
        },
        {
          hub: 'audit',
          partitionId: lines[0]!.partitionId,
          sequenceNumber: 1,
          partitionKey: 'tenant-a',
          messageId: 'binary-1',
          properties: {},
          body: Buffer.from([0xff, 0x00, 0xfe]).toString('base64'),
          bodyEncoding: 'base64',
        },
      ]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
