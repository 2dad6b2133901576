import { EventHubProducerClient, type EventData, type EventDataBatch, type EventHubClientOptions, type RetryOptions } from '@azure/event-hubs';
import WebSocket from 'ws';
import type { TokenCredential } from '@azure/identity';
import { PermanentError, TransientError, IngestError } from '../../core/errors.js';
import type { EventHubConfig } from '../../config.js';
import type { EventPublication, EventSink } from '../../ports.js';
import type { OutgoingEvent } from '../../core/io.js';
import { webSocketProxyAgent } from '../http/proxy.js';

/** One producer per worker, reused by every invocation. */
export function createProducer(config: EventHubConfig, credential?: TokenCredential, retry: RetryOptions = {}): EventHubProducerClient {
  // A send whose connection drops is only noticed after timeoutInMs; 30 s keeps a retry inside one invocation.
  const retryOptions = { maxRetries: 4, retryDelayInMs: 500, maxRetryDelayInMs: 10_000, timeoutInMs: 30_000, ...retry };
  if (config.connectionString) {
    const endpoint = /(?:^|;)Endpoint=sb:\/\/([^/;]+)/i.exec(config.connectionString)?.[1];
    const emulator = /(?:^|;)UseDevelopmentEmulator=true/i.test(config.connectionString);
    return new EventHubProducerClient(config.connectionString, config.name, { retryOptions, ...(endpoint && !emulator ? webSocketsThroughProxy(endpoint) : {}) });
  }
  if (!config.fullyQualifiedNamespace || !credential) throw new RangeError('Event Hubs needs a connection string, or a namespace and a credential');
  return new EventHubProducerClient(config.fullyQualifiedNamespace, config.name, credential, { retryOptions, ...webSocketsThroughProxy(config.fullyQualifiedNamespace) });
}

/**
 * AMQP goes over TCP port 5671, which an HTTP proxy cannot carry. When HTTPS_PROXY applies to the
 * namespace (NO_PROXY does not exempt it), the client speaks AMQP over WebSockets (port 443) through
 * the proxy instead, the transport Event Hubs offers for networks that allow only HTTPS out.
 */
export function webSocketsThroughProxy(namespace: string, env: Readonly<Record<string, string | undefined>> = process.env): Pick<EventHubClientOptions, 'webSocketOptions'> {
  const agent = webSocketProxyAgent(`wss://${namespace.replace(/:\d+$/, '')}:443/$servicebus/websocket`, env);
  if (!agent) return {};
  return { webSocketOptions: { webSocket: WebSocket, webSocketConstructorOptions: { agent } } };
}

/**
 * The EventSink port over `EventHubProducerClient`: batches filled with `tryAdd` up to the hub's
 * limit, sent in order on one link with up to two batches in flight while the next fills.
 * `acknowledged` only ever counts a prefix of the added events, which is what a retry resumes after.
 */
export class EventHubsSink implements EventSink {
  constructor(private readonly producer: EventHubProducerClient) {}

  open(options: { partitionKey?: string; abortSignal?: AbortSignal }): EventPublication {
    return new HubPublication(this.producer, options.partitionKey, options.abortSignal);
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}

/** Batches sent but not yet acknowledged, per publication. Two keep the link busy while the next batch fills. */
const MAX_IN_FLIGHT = 2;

/**
 * Batches are cut at 64 KiB, not the hub's 1 MiB: a send whose acknowledgement is lost (a dropped link, a
 * worker killed mid-send) is sent again whole, so the batch size bounds the duplicates one such fault costs
 * (about 50 events instead of 800), and the ledger's checkpoint, written after every acknowledged batch,
 * follows the hub closely. An event larger than that still goes out, alone in a batch of the hub's size.
 */
export const MAX_BATCH_BYTES = 64 * 1024;

class HubPublication implements EventPublication {
  private batch?: EventDataBatch;
  /** Sends in the order they went out; each resolves to its error, or undefined once acknowledged. */
  private readonly inFlight: Array<{ result: Promise<unknown>; readonly count: number; settled: boolean; error?: unknown }> = [];
  private failure?: unknown;
  acknowledged = 0;

  constructor(
    private readonly producer: EventHubProducerClient,
    private readonly partitionKey: string | undefined,
    private readonly abortSignal: AbortSignal | undefined,
  ) {}

  async add(event: OutgoingEvent): Promise<void> {
    this.throwIfFailed();
    const data: EventData = {
      body: Buffer.from(event.body, 'utf8'),
      messageId: event.messageId,
      correlationId: event.correlationId,
      contentType: 'application/json',
      properties: event.properties,
    };
    this.settleFinished();
    this.batch ??= await this.createBatch(MAX_BATCH_BYTES);
    if (this.batch.tryAdd(data)) return;
    if (this.batch.count > 0) {
      await this.send(this.batch);
      this.batch = await this.createBatch(MAX_BATCH_BYTES);
      if (this.batch.tryAdd(data)) return;
    }
    // Larger than a cut batch: alone, in a batch of the hub's own limit.
    const alone = await this.createBatch();
    if (!alone.tryAdd(data)) throw tooLarge(event, alone.maxSizeInBytes);
    await this.send(alone);
  }

  async flush(): Promise<void> {
    if (this.batch && this.batch.count > 0) await this.send(this.batch);
    this.batch = undefined;
    while (this.inFlight.length > 0) await this.settleOldest();
    this.throwIfFailed();
  }

  /** Starts sending a full batch once fewer than MAX_IN_FLIGHT are unacknowledged. */
  private async send(batch: EventDataBatch): Promise<void> {
    while (this.inFlight.length >= MAX_IN_FLIGHT) await this.settleOldest();
    this.throwIfFailed();
    const entry: (typeof this.inFlight)[number] = { result: Promise.resolve(), count: batch.count, settled: false };
    entry.result = this.producer.sendBatch(batch, { abortSignal: this.abortSignal }).then(
      () => {
        entry.settled = true;
        return undefined;
      },
      (err: unknown) => {
        entry.settled = true;
        entry.error = err ?? new Error('send failed');
        return entry.error;
      },
    );
    this.inFlight.push(entry);
  }

  /** Counts the sends already acknowledged, oldest first, without waiting (so `acknowledged` is current). */
  private settleFinished(): void {
    while (this.inFlight.length > 0 && this.inFlight[0]!.settled) {
      const oldest = this.inFlight.shift()!;
      this.record(oldest.error, oldest.count);
    }
  }

  /**
   * Settles the oldest send. `acknowledged` only grows while every earlier send succeeded, so it is
   * always a prefix of the added events: after a failure, later successes are resent on retry
   * (duplicates), never skipped.
   */
  private async settleOldest(): Promise<void> {
    const oldest = this.inFlight.shift()!;
    this.record(await oldest.result, oldest.count);
  }

  private record(error: unknown, count: number): void {
    if (error !== undefined) this.failure ??= error;
    else if (this.failure === undefined) this.acknowledged += count;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw translateHubError(this.failure);
  }

  private async createBatch(maxSizeInBytes?: number): Promise<EventDataBatch> {
    try {
      return await this.producer.createBatch({ partitionKey: this.partitionKey, abortSignal: this.abortSignal, ...(maxSizeInBytes ? { maxSizeInBytes } : {}) });
    } catch (err) {
      throw translateHubError(err);
    }
  }
}

function tooLarge(event: OutgoingEvent, maxSizeInBytes: number): PermanentError {
  return new PermanentError('EventTooLarge', `event ${event.messageId} (${Buffer.byteLength(event.body)} bytes) does not fit the hub's ${maxSizeInBytes}-byte message limit`);
}

/** MessagingErrors from the SDK (after its own retries) into the taxonomy. */
export function translateHubError(err: unknown): IngestError {
  if (err instanceof IngestError) return err;
  // When every retry fails the SDK throws an AggregateError of the attempts (sometimes nested).
  if (err instanceof AggregateError && err.errors.length > 0) return translateHubError(err.errors.at(-1));
  const e = err as { code?: string; retryable?: boolean; name?: string; message?: string };
  if (e?.code === 'MessageTooLargeError' || e?.code === 'MessageSizeExceededError') {
    return new PermanentError('EventTooLarge', `the hub refused a batch as too large (${e.code})`, { cause: err });
  }
  if (e?.code === 'MessagingEntityNotFoundError' || e?.code === 'UnauthorizedError') {
    // Configuration or role problems: retrying later (after a fix) is the only way; the queue keeps the blob.
    return new TransientError('SinkUnavailable', `Event Hubs refused the publication (${e.code}); check EVENTHUB_NAME and the identity's Azure Event Hubs Data Sender role`, { cause: err });
  }
  return new TransientError('SinkUnavailable', `Event Hubs send failed (${e?.code ?? e?.name ?? 'error'})`, { cause: err });
}
