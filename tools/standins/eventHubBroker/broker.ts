import type { AddressInfo, Server, Socket } from 'node:net';
import rhea from 'rhea';
import type { AmqpError, Connection, Delivery, EventContext, Message, Receiver, Sender, Typed } from 'rhea';
import { decodeTransfer, encodeForDelivery, PARTITION_KEY_ANNOTATION, TransferDecodeError, type EventFields } from './codec.js';
import { covers, entityPath, verifySasToken, type SasKey, type SasVerdict } from './sasToken.js';
import { HubLog, PartitionLog, StartPositionError, type StoredEvent } from './store.js';

/** How to start the broker. */
export interface EventHubBrokerOptions {
  /** Listen address; default 127.0.0.1. */
  host?: string;
  /** Listen port; default 0 (a free port, see {@link EventHubBroker.port}). */
  port?: number;
  /** When set, the broker speaks AMQPS with this certificate, as Event Hubs does for TokenCredential clients. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** The event hubs the namespace holds; names match case-insensitively, as in Azure. */
  hubs: { name: string; partitionCount?: number /* default 4 */ }[];
  /** Advertised on every sender attach and enforced per transfer; default 1048576 (Standard tier). */
  maxMessageSizeInBytes?: number;
  /**
   * When set, put-token SAS tokens are verified (signature, audience, expiry) and links and management reads
   * need a claim granted on the same connection; jwt tokens are accepted unverified.
   */
  sasKey?: SasKey;
  /** Called for every accepted event, after it is stored and before the transfer is settled; must not throw. */
  onEvent?: (event: ReceivedEvent) => void;
}

/** An event the broker accepted, as the service would have stored it. */
export interface ReceivedEvent extends EventFields {
  hub: string;
  partitionId: string;
  sequenceNumber: number;
  offset: string;
  enqueuedTimeUtc: Date;
}

/** A running test broker: connection details, an inspection surface, and fault knobs. */
export interface EventHubBroker {
  /**
   * `Endpoint=sb://127.0.0.1:<port>;SharedAccessKeyName=...;SharedAccessKey=...;UseDevelopmentEmulator=true`
   * (plain AMQP), with `EntityPath=<hub>` when a hub is given. In TLS mode the emulator flag is left out so
   * the SDK connects over AMQPS with a SAS key.
   */
  connectionString(hub?: string): string;
  /** `127.0.0.1:<port>`, usable as fullyQualifiedNamespace with a TokenCredential in TLS mode. */
  readonly fullyQualifiedNamespace: string;
  readonly port: number;
  /** Every accepted event of the hub, in acceptance order (a copy). Throws for an unknown hub. */
  events(hub: string): readonly ReceivedEvent[];
  /** Resolves with the hub's accepted events once there are at least `count`; rejects after the timeout (default 10 s). */
  waitForEvents(hub: string, count: number, timeoutInMs?: number): Promise<readonly ReceivedEvent[]>;
  faults: {
    /** Reject the next n transfers on sender links with com.microsoft:server-busy (the SDK retries). */
    serverBusy(n: number): void;
    /**
     * Detach every sender link now (error condition amqp:link:detach-forced) — the SDK re-attaches. Resolves
     * once every client has answered with its own detach (or lost its connection), so a send issued after
     * awaiting it goes out on a fresh link instead of into the detached one.
     */
    detachSenders(): Promise<void>;
    /** Destroy every client socket now (connection drop) — the SDK reconnects. */
    dropConnections(): void;
    /**
     * Drop the connection when the n-th transfer from now arrives, before settling it (the SDK cannot know
     * if it landed). The transfer's events are stored first: they landed, only the acknowledgement is lost.
     */
    dropOnTransfer(n: number): void;
  };
  /** Counters since start or the last reset(): TCP connections accepted, transfers on sender links, transfers rejected. */
  stats(): { connections: number; transfers: number; rejected: number };
  /** Forget stored events (sequence numbers restart at 0), armed faults and counters; open links stay. */
  reset(): void;
  /** Destroys every socket, fails pending waits and closes the listener; calling it again does nothing. */
  close(): Promise<void>;
}

const DEFAULT_PARTITION_COUNT = 4;
const DEFAULT_MAX_MESSAGE_SIZE = 1_048_576;
const DEFAULT_WAIT_MS = 10_000;
/** Put into connection strings when SAS verification is off; the SDK needs some key to sign with. */
const PLACEHOLDER_KEY: SasKey = { keyName: 'RootManageSharedAccessKey', key: 'test-broker-key-not-verified' };
const CBS = '$cbs';
const MANAGEMENT = '$management';
const SAS_TOKEN_TYPE = 'servicebus.windows.net:sastoken';
const JWT_TOKEN_TYPE = 'jwt';
const SELECTOR_FILTER = 'apache.org:selector-filter:string';
const RUNTIME_METRIC_CAPABILITY = 'com.microsoft:enable-receiver-runtime-metric';
const SENDER_ADDRESS = /^([^/]+)(?:\/partitions\/([^/]+))?$/i;
const CONSUMER_ADDRESS = /^([^/]+)\/consumergroups\/([^/]+)\/partitions\/([^/]+)$/i;

/** A link a producer sends on: the hub and, for `<hub>/Partitions/<n>`, the fixed partition. */
interface ProducerLink {
  hub: HubLog;
  partition?: PartitionLog;
}

/** A consumer's read position in one partition. */
interface ConsumerCursor {
  partition: PartitionLog;
  next: number;
  trackLastEnqueued: boolean;
}

interface Waiter {
  hub: HubLog;
  count: number;
  resolve: (events: readonly ReceivedEvent[]) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** rhea passes the message format of a transfer on the event context, which its typings omit. */
type TransferContext = EventContext & { format?: number };

/**
 * Starts an AMQP 1.0 broker that the real `@azure/event-hubs` SDK accepts as an Event Hubs namespace:
 * SASL ANONYMOUS/PLAIN, `$cbs` put-token, `$management` READ, sender links with batch decoding, key hashing
 * and size enforcement, and consumer links honouring start-position filters. Resolves once it listens.
 * Not modelled: retention (nothing expires), consumer-group existence (any name is accepted), epoch
 * (ownerLevel) receivers and the idempotent producer.
 */
export async function startEventHubBroker(options: EventHubBrokerOptions): Promise<EventHubBroker> {
  const broker = new Broker(options);
  await broker.listen();
  return broker;
}

class Broker implements EventHubBroker {
  readonly faults: EventHubBroker['faults'];
  private readonly hubs = new Map<string, HubLog>();
  private readonly host: string;
  private readonly maxMessageSize: number;
  private readonly container = rhea.create_container({ id: 'event-hub-test-broker' });
  private server: Server | undefined;
  private listeningPort = 0;
  private readonly sockets = new Set<Socket>();
  private readonly producers = new Map<Receiver, ProducerLink>();
  private readonly consumers = new Map<Sender, ConsumerCursor>();
  /** Producer links the broker detached, until the client answers: resolves detachSenders(). */
  private readonly detaching = new Map<Receiver, () => void>();
  /** Claims granted by put-token, per connection: entity path → expiry (ms since epoch). */
  private readonly grants = new WeakMap<Connection, Map<string, number>>();
  private readonly waiters = new Set<Waiter>();
  private armed = { serverBusy: 0, dropOnTransfer: 0 };
  private counters = { connections: 0, transfers: 0, rejected: 0 };

  constructor(private readonly options: EventHubBrokerOptions) {
    if (options.hubs.length === 0) throw new Error('the broker needs at least one hub');
    for (const { name, partitionCount = DEFAULT_PARTITION_COUNT } of options.hubs) {
      if (!/^[^/]+$/.test(name)) throw new Error(`invalid hub name '${name}'`);
      if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > 1024) {
        throw new Error(`hub '${name}': partitionCount must be an integer from 1 to 1024`);
      }
      if (this.hubs.has(name.toLowerCase())) throw new Error(`hub '${name}' is listed twice`);
      this.hubs.set(name.toLowerCase(), new HubLog(name, partitionCount));
    }
    this.host = options.host ?? '127.0.0.1';
    this.maxMessageSize = options.maxMessageSizeInBytes ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.faults = {
      serverBusy: (n) => {
        this.armed.serverBusy = nonNegativeInteger(n, 'serverBusy');
      },
      detachSenders: async () => {
        const answered = [...this.producers.keys()].map((receiver) => {
          receiver.close({ condition: 'amqp:link:detach-forced', description: 'The link was detached by the test broker.' });
          return new Promise<void>((resolve) => this.detaching.set(receiver, resolve));
        });
        this.producers.clear();
        await Promise.all(answered);
      },
      dropConnections: () => {
        for (const socket of this.sockets) drop(socket);
      },
      dropOnTransfer: (n) => {
        this.armed.dropOnTransfer = nonNegativeInteger(n, 'dropOnTransfer');
      },
    };
  }

  get port(): number {
    return this.listeningPort;
  }

  get fullyQualifiedNamespace(): string {
    const host = this.host === '0.0.0.0' || this.host === '::' ? '127.0.0.1' : this.host;
    return `${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  connectionString(hub?: string): string {
    const { keyName, key } = this.options.sasKey ?? PLACEHOLDER_KEY;
    const parts = [`Endpoint=sb://${this.fullyQualifiedNamespace}`, `SharedAccessKeyName=${keyName}`, `SharedAccessKey=${key}`];
    if (!this.options.tls) parts.push('UseDevelopmentEmulator=true');
    if (hub !== undefined) parts.push(`EntityPath=${this.requireHub(hub).name}`);
    return parts.join(';');
  }

  events(hub: string): readonly ReceivedEvent[] {
    return this.requireHub(hub).accepted.slice();
  }

  waitForEvents(hub: string, count: number, timeoutInMs = DEFAULT_WAIT_MS): Promise<readonly ReceivedEvent[]> {
    const log = this.requireHub(hub);
    if (log.accepted.length >= count) return Promise.resolve(log.accepted.slice());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        hub: log,
        count,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`waited ${timeoutInMs} ms for ${count} events on hub '${log.name}'; ${log.accepted.length} arrived`));
        }, timeoutInMs),
      };
      this.waiters.add(waiter);
    });
  }

  stats(): { connections: number; transfers: number; rejected: number } {
    return { ...this.counters };
  }

  reset(): void {
    for (const hub of this.hubs.values()) hub.clear();
    for (const cursor of this.consumers.values()) cursor.next = 0;
    this.armed = { serverBusy: 0, dropOnTransfer: 0 };
    this.counters = { connections: 0, transfers: 0, rejected: 0 };
  }

  async close(): Promise<void> {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('the broker was closed'));
    }
    this.waiters.clear();
    for (const receiver of this.detaching.keys()) this.settleDetach(receiver);
    for (const socket of this.sockets) drop(socket);
    const server = this.server;
    if (!server?.listening) return;
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  }

  async listen(): Promise<void> {
    this.registerHandlers();
    const common = {
      host: this.host,
      port: this.options.port ?? 0,
      // Every link the broker answers as receiver: no auto-accept (a transfer is settled only after its events
      // are stored) and max_message_size on the attach, which is where the SDK reads the batch size limit.
      receiver_options: { autoaccept: false, max_message_size: this.maxMessageSize },
    };
    const server: Server = this.options.tls
      ? this.container.listen({ ...common, transport: 'tls', cert: this.options.tls.cert, key: this.options.tls.key })
      : this.container.listen({ ...common, transport: 'tcp' });
    this.server = server;
    // rhea runs the AMQP connection on the (TLS) socket these events hand over; track them to drop or close.
    server.on(this.options.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.sockets.add(socket);
      this.counters.connections++;
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    this.listeningPort = (server.address() as AddressInfo).port;
  }

  private registerHandlers(): void {
    const mechanisms = this.container.sasl_server_mechanisms as unknown as {
      enable_anonymous(): void;
      enable_plain(verify: (username: string, password: string) => boolean): void;
    };
    mechanisms.enable_anonymous();
    mechanisms.enable_plain(() => true);
    const c = this.container;
    c.on('receiver_open', (ctx: EventContext) => this.onIncomingLink(ctx.receiver!, ctx.connection));
    c.on('sender_open', (ctx: EventContext) => this.onOutgoingLink(ctx.sender!, ctx.connection));
    c.on('message', (ctx: EventContext) => this.onMessage(ctx as TransferContext));
    c.on('sendable', (ctx: EventContext) => {
      const cursor = this.consumers.get(ctx.sender!);
      if (cursor) this.pump(ctx.sender!, cursor);
    });
    c.on('receiver_close', (ctx: EventContext) => {
      this.producers.delete(ctx.receiver!);
      this.settleDetach(ctx.receiver!);
    });
    c.on('sender_close', (ctx: EventContext) => this.consumers.delete(ctx.sender!));
    c.on('connection_close', (ctx: EventContext) => this.forget(ctx.connection));
    c.on('disconnected', (ctx: EventContext) => this.forget(ctx.connection));
    // Errors a peer causes (a session ended with an error, a protocol violation) must not take the broker
    // down; rhea would throw them from an EventEmitter without a listener.
    c.on('error', (error: Error) => console.warn(`[eventHubBroker] ${error.name}: ${error.message}`));
  }

  /** A client sender attached, so the broker is the receiver: a request link or a producer link. */
  private onIncomingLink(receiver: Receiver, connection: Connection): void {
    const address = receiver.target?.address ?? '';
    if (address === CBS || address === MANAGEMENT) {
      mirrorTermini(receiver);
      return;
    }
    const target = this.producerTarget(address);
    if (!target) {
      receiver.close(notFound(address));
    } else if (!this.authorized(connection, address)) {
      receiver.close(unauthorized(address, 'Send'));
    } else {
      mirrorTermini(receiver);
      this.producers.set(receiver, target);
    }
  }

  /** A client receiver attached, so the broker is the sender: a reply link or a consumer link. */
  private onOutgoingLink(sender: Sender, connection: Connection): void {
    const address = sender.source?.address ?? '';
    if (address === CBS || address === MANAGEMENT) {
      mirrorTermini(sender);
      return;
    }
    const match = CONSUMER_ADDRESS.exec(entityAddress(address));
    const partition = match && this.hubs.get(match[1]!.toLowerCase())?.partition(match[3]!);
    if (!partition) {
      sender.close(notFound(address));
      return;
    }
    if (!this.authorized(connection, address)) {
      sender.close(unauthorized(address, 'Listen'));
      return;
    }
    let next: number;
    try {
      next = partition.startIndex(selectorFilter(sender.source?.filter));
    } catch (error) {
      if (!(error instanceof StartPositionError)) throw error;
      sender.close({ condition: 'amqp:invalid-field', description: error.message });
      return;
    }
    mirrorTermini(sender);
    const capabilities: unknown = sender.desired_capabilities;
    const trackLastEnqueued = ([] as unknown[]).concat(capabilities ?? []).includes(RUNTIME_METRIC_CAPABILITY);
    const cursor = { partition, next, trackLastEnqueued };
    this.consumers.set(sender, cursor);
    this.pump(sender, cursor);
  }

  /** The hub (and, for `<hub>/Partitions/<n>`, the partition) a producer link address names, if it exists. */
  private producerTarget(address: string): ProducerLink | undefined {
    const match = SENDER_ADDRESS.exec(entityAddress(address));
    const hub = match && this.hubs.get(match[1]!.toLowerCase());
    if (!hub) return undefined;
    if (match[2] === undefined) return { hub };
    const partition = hub.partition(match[2]);
    return partition && { hub, partition };
  }

  private onMessage(ctx: TransferContext): void {
    const receiver = ctx.receiver!;
    const delivery = ctx.delivery!;
    try {
      const address = receiver.target?.address;
      if (address === CBS) this.onPutToken(ctx.message!, ctx.connection, delivery);
      else if (address === MANAGEMENT) this.onManagementRequest(ctx.message!, ctx.connection, delivery);
      else {
        const link = this.producers.get(receiver);
        if (link) this.onTransfer(link, ctx);
        else this.reject(delivery, { condition: 'amqp:not-allowed', description: 'The link is no longer attached.' });
      }
    } catch (error) {
      // A broker bug must surface in the client as a failed send, not vanish inside rhea's event loop.
      this.reject(delivery, { condition: 'amqp:internal-error', description: `test broker failure: ${(error as Error).message}` });
    }
  }

  private onTransfer(link: ProducerLink, ctx: TransferContext): void {
    const delivery = ctx.delivery!;
    this.counters.transfers++;
    const dropNow = this.armed.dropOnTransfer > 0 && --this.armed.dropOnTransfer === 0;
    if (!dropNow && this.armed.serverBusy > 0) {
      this.armed.serverBusy--;
      this.reject(delivery, {
        condition: 'com.microsoft:server-busy',
        description: 'The request was terminated because the namespace is being throttled (test broker fault).',
      });
      return;
    }
    const failure = this.ingest(link, ctx.message, ctx.format ?? 0);
    if (dropNow) {
      const socket = socketOf(ctx.connection);
      if (socket) drop(socket);
    } else if (failure) {
      this.reject(delivery, failure);
    } else {
      delivery.accept();
    }
  }

  /** Decodes, size-checks, routes and stores one transfer; returns why it must be rejected, if it must. */
  private ingest(link: ProducerLink, payload: unknown, format: number): AmqpError | undefined {
    let transfer;
    try {
      transfer = decodeTransfer(payload, format);
    } catch (error) {
      if (error instanceof TransferDecodeError) return { condition: 'amqp:decode-error', description: error.message };
      throw error;
    }
    if (transfer.size > this.maxMessageSize) {
      return {
        condition: 'amqp:link:message-size-exceeded',
        description: `The received message (size ${transfer.size} bytes) exceeds the limit (${this.maxMessageSize} bytes) currently allowed on the link.`,
      };
    }
    const partition = link.partition ?? link.hub.route(transfer.routingKey);
    const stored = link.hub.append(partition, transfer.events, transfer.routingKey);
    for (const { event } of stored) this.options.onEvent?.(event);
    for (const [sender, cursor] of this.consumers) {
      if (cursor.partition === partition) this.pump(sender, cursor);
    }
    for (const waiter of this.waiters) {
      if (waiter.hub === link.hub && link.hub.accepted.length >= waiter.count) {
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
        waiter.resolve(link.hub.accepted.slice());
      }
    }
    return undefined;
  }

  private onPutToken(request: Message, connection: Connection, delivery: Delivery): void {
    const props = request.application_properties ?? {};
    if (props.operation !== 'put-token') {
      this.reply(connection, request, delivery, 400, `unsupported $cbs operation '${String(props.operation)}'`);
      return;
    }
    const audience = String(props.name ?? '');
    const verdict = this.checkToken(String(props.type), audience, request.body);
    if (!verdict.ok) {
      this.reply(connection, request, delivery, 401, verdict.reason);
      return;
    }
    let granted = this.grants.get(connection);
    if (!granted) this.grants.set(connection, (granted = new Map()));
    granted.set(entityPath(audience), verdict.expiresAtMs);
    this.reply(connection, request, delivery, 200, 'OK');
  }

  private checkToken(type: string, audience: string, token: unknown): SasVerdict {
    const policy = this.options.sasKey;
    if (!policy || type === JWT_TOKEN_TYPE) return { ok: true, expiresAtMs: Number.POSITIVE_INFINITY };
    if (type !== SAS_TOKEN_TYPE) return { ok: false, reason: `unsupported token type '${type}'` };
    return verifySasToken(String(token), audience, policy, Date.now());
  }

  private onManagementRequest(request: Message, connection: Connection, delivery: Delivery): void {
    const props = request.application_properties ?? {};
    const respond = (status: number, description: string, body?: Record<string, unknown>, condition?: string) =>
      this.reply(connection, request, delivery, status, description, body, condition);
    if (props.operation !== 'READ') {
      respond(400, `unsupported $management operation '${String(props.operation)}'`, undefined, 'amqp:not-implemented');
      return;
    }
    const name = String(props.name);
    const hub = this.hubs.get(name.toLowerCase());
    if (!hub) {
      respond(404, `The messaging entity '${name}' could not be found.`, undefined, 'amqp:not-found');
      return;
    }
    // The SDK puts a token for `<hub>/$management` before reading; a hub or namespace claim covers it too.
    if (!this.authorized(connection, `${hub.name}/${MANAGEMENT}`)) {
      respond(401, `Unauthorized access. 'Manage' or 'Listen' claim(s) are required to read '${hub.name}'.`, undefined, 'amqp:unauthorized-access');
      return;
    }
    if (props.type === 'com.microsoft:eventhub') {
      respond(200, 'OK', {
        name: hub.name,
        created_at: hub.createdAt,
        partition_count: rhea.types.wrap_int(hub.partitions.length),
        partition_ids: hub.partitions.map((p) => p.id),
      });
    } else if (props.type === 'com.microsoft:partition') {
      const partition = hub.partition(String(props.partition));
      if (!partition) {
        respond(404, `The messaging entity '${hub.name}/Partitions/${String(props.partition)}' could not be found.`, undefined, 'amqp:not-found');
        return;
      }
      const last = partition.last();
      respond(200, 'OK', {
        name: hub.name,
        partition: partition.id,
        begin_sequence_number: rhea.types.wrap_long(0),
        last_enqueued_sequence_number: rhea.types.wrap_long(last?.sequenceNumber ?? -1),
        last_enqueued_offset: last?.offset ?? '-1',
        last_enqueued_time_utc: last?.enqueuedTimeUtc ?? new Date(0),
        is_partition_empty: last === undefined,
      });
    } else {
      respond(400, `unsupported $management type '${String(props.type)}'`, undefined, 'amqp:not-implemented');
    }
  }

  /** Answers a request on the client's reply link (matched by name, or by target address for $management). */
  private reply(
    connection: Connection,
    request: Message,
    delivery: Delivery,
    status: number,
    description: string,
    body?: Record<string, unknown>,
    condition?: string,
  ): void {
    const replyTo = request.reply_to;
    const link = connection.find_sender((s: Sender) => s.name === replyTo || s.target?.address === replyTo);
    if (!link) {
      this.reject(delivery, { condition: 'amqp:precondition-failed', description: `no reply link '${String(replyTo)}' is attached` });
      return;
    }
    const properties: Record<string, unknown> = { 'status-code': rhea.types.wrap_int(status), 'status-description': description };
    if (condition) properties['error-condition'] = condition;
    link.send({ correlation_id: request.message_id, to: replyTo, application_properties: properties, body });
    delivery.accept();
  }

  /** Sends a consumer every stored event it has credit for. */
  private pump(sender: Sender, cursor: ConsumerCursor): void {
    const { events } = cursor.partition;
    while (cursor.next < events.length && sender.sendable()) {
      sender.send(this.forDelivery(events[cursor.next]!, cursor), undefined, 0);
      cursor.next++;
    }
  }

  private forDelivery(stored: StoredEvent, cursor: ConsumerCursor): Buffer {
    const { event } = stored;
    const annotations: Record<string, Typed> = {
      'x-opt-sequence-number': rhea.types.wrap_long(event.sequenceNumber),
      'x-opt-offset': rhea.types.wrap_string(event.offset),
      'x-opt-enqueued-time': rhea.types.wrap_timestamp(event.enqueuedTimeUtc.getTime()),
    };
    if (event.partitionKey !== undefined) annotations[PARTITION_KEY_ANNOTATION] = rhea.types.wrap_string(event.partitionKey);
    const last = cursor.trackLastEnqueued ? cursor.partition.last() : undefined;
    const runtime = last && {
      last_enqueued_sequence_number: rhea.types.wrap_long(last.sequenceNumber),
      last_enqueued_offset: rhea.types.wrap_string(last.offset),
      last_enqueued_time_utc: rhea.types.wrap_timestamp(last.enqueuedTimeUtc.getTime()),
      runtime_info_retrieval_time_utc: rhea.types.wrap_timestamp(Date.now()),
    };
    return encodeForDelivery(stored.encoded, annotations, runtime);
  }

  private authorized(connection: Connection, address: string): boolean {
    if (!this.options.sasKey) return true;
    const target = entityPath(address);
    const now = Date.now();
    for (const [resource, expiresAtMs] of this.grants.get(connection) ?? []) {
      if (expiresAtMs > now && covers(resource, target)) return true;
    }
    return false;
  }

  private reject(delivery: Delivery, error: AmqpError): void {
    this.counters.rejected++;
    delivery.reject(error);
  }

  private forget(connection: Connection): void {
    for (const receiver of this.producers.keys()) if (receiver.connection === connection) this.producers.delete(receiver);
    for (const sender of this.consumers.keys()) if (sender.connection === connection) this.consumers.delete(sender);
    for (const receiver of this.detaching.keys()) if (receiver.connection === connection) this.settleDetach(receiver);
  }

  private settleDetach(receiver: Receiver): void {
    this.detaching.get(receiver)?.();
    this.detaching.delete(receiver);
  }

  private requireHub(name: string): HubLog {
    const hub = this.hubs.get(name.toLowerCase());
    if (!hub) throw new Error(`unknown hub '${name}'`);
    return hub;
  }
}

/** Answers the attach with the client's own addresses, as the service does. */
function mirrorTermini(link: Sender | Receiver): void {
  link.set_source({ address: link.source?.address });
  link.set_target({ address: link.target?.address });
}

/** The entity part of a link address (`amqps://host/hub/...` → `hub/...`); the SDK sends it bare. */
function entityAddress(address: string): string {
  return address.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*\//i, '');
}

function selectorFilter(filter: Record<string, unknown> | undefined): string | undefined {
  const value = filter?.[SELECTOR_FILTER];
  // rhea leaves the described filter wrapped; its value is the selector text.
  const text = typeof value === 'object' && value !== null && 'value' in value ? value.value : value;
  return typeof text === 'string' ? text : undefined;
}

function notFound(address: string): AmqpError {
  return { condition: 'amqp:not-found', description: `The messaging entity '${address}' could not be found.` };
}

function unauthorized(address: string, claim: 'Send' | 'Listen'): AmqpError {
  return {
    condition: 'amqp:unauthorized-access',
    description: `Unauthorized access. '${claim}' claim(s) are required to perform this operation. Resource: '${address}'.`,
  };
}

/** Destroying with an error makes rhea see the socket fail, so it clears its heartbeat timers and reports the disconnect. */
function drop(socket: Socket): void {
  socket.destroy(new Error('connection dropped by the test broker'));
}

/** rhea keeps the accepted socket on the connection object; its typings expose it only through an index signature. */
function socketOf(connection: Connection): Socket | undefined {
  return connection.socket as Socket | undefined;
}

function nonNegativeInteger(n: number, knob: string): number {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${knob}(n) needs a non-negative integer, got ${n}`);
  return n;
}
