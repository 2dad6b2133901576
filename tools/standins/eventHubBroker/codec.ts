import rhea from 'rhea';
import type { Message, Typed } from 'rhea';

/** The message format of an Event Hubs batch transfer (what `sendBatch` sends). */
export const BATCH_MESSAGE_FORMAT = 0x80013700;

/** Message annotation that carries the partition key. */
export const PARTITION_KEY_ANNOTATION = 'x-opt-partition-key';

/** The fields of an event that tests inspect, as the sender set them. */
export interface EventFields {
  partitionKey?: string;
  messageId?: string | number;
  correlationId?: string;
  contentType?: string;
  properties: Record<string, unknown>;
  /** Data-section bytes; for an amqp-value or amqp-sequence body, its JSON (or the bytes of a binary value). */
  body: Buffer;
}

/** One event taken out of a transfer: its verbatim encoding plus the fields tests inspect. */
export interface DecodedEvent extends EventFields {
  /** The event's complete encoded AMQP message, kept byte for byte so consumers get exactly what was sent. */
  encoded: Buffer;
}

/** The events of one transfer and the key the whole transfer is routed by. */
export interface DecodedTransfer {
  /** The envelope's (or single message's) `x-opt-partition-key`: every event of a transfer shares a partition. */
  routingKey?: string;
  events: DecodedEvent[];
  /** Size of the transfer payload in bytes, compared against the advertised max message size. */
  size: number;
}

/** Thrown for a transfer the broker cannot interpret; answered with `amqp:decode-error`. */
export class TransferDecodeError extends Error {
  override name = 'TransferDecodeError';
}

interface BodySection {
  typecode: number;
  content: unknown;
  multiple?: boolean;
}

const DATA_SECTION = 0x75;
const DELIVERY_ANNOTATIONS = 0x71;
const MESSAGE_ANNOTATIONS = 0x72;
const HEADER = 0x70;

/** Section descriptors by symbolic name; AMQP lets a peer use these instead of the numeric codes. */
const SYMBOLIC_SECTIONS: Record<string, number> = {
  'amqp:header:list': 0x70,
  'amqp:delivery-annotations:map': 0x71,
  'amqp:message-annotations:map': 0x72,
  'amqp:properties:list': 0x73,
  'amqp:application-properties:map': 0x74,
  'amqp:data:binary': 0x75,
  'amqp:amqp-sequence:list': 0x76,
  'amqp:value:*': 0x77,
  'amqp:footer:map': 0x78,
};

// rhea decodes data and amqp-sequence bodies into instances of its (unexported) Section class.
const SectionClass = (rhea.message.data_section(Buffer.alloc(0)) as object).constructor;

interface AmqpReader {
  position: number;
  remaining(): number;
  read(): Typed;
}
interface AmqpWriter {
  write(value: Typed): void;
  toBuffer(): Buffer;
}
// rhea exports its Reader and Writer at runtime but its typings leave them off the `types` interface.
const codecTypes = rhea.types as unknown as {
  Reader: new (buffer: Buffer) => AmqpReader;
  Writer: new () => AmqpWriter;
};

/**
 * Splits a transfer into its events. A batch (format 0x80013700) is an envelope whose data sections each
 * hold one complete encoded message; format 0 is a single message, which rhea has already decoded (so it
 * is re-encoded here). Any other format, or a batch that is not a sequence of data sections, throws
 * {@link TransferDecodeError}.
 */
export function decodeTransfer(payload: unknown, format: number): DecodedTransfer {
  if (format === 0) {
    const message = payload as Message;
    const encoded = rhea.message.encode(message);
    const event = describeEvent(encoded, message);
    return { routingKey: event.partitionKey, events: [event], size: encoded.length };
  }
  if (format !== BATCH_MESSAGE_FORMAT) throw new TransferDecodeError(`unsupported message format 0x${format.toString(16)}`);
  if (!Buffer.isBuffer(payload)) throw new TransferDecodeError('batch payload is not binary');
  let envelope: Message;
  try {
    envelope = decodeMessage(payload);
  } catch (error) {
    throw new TransferDecodeError(`batch envelope does not decode: ${(error as Error).message}`);
  }
  const body: unknown = envelope.body;
  if (!isSection(body) || body.typecode !== DATA_SECTION) {
    throw new TransferDecodeError('batch envelope body is not a sequence of data sections');
  }
  const parts = body.multiple ? (body.content as unknown[]) : [body.content];
  const events = parts.map((part, index) => {
    if (!Buffer.isBuffer(part)) throw new TransferDecodeError(`batch section ${index} is not binary`);
    try {
      return describeEvent(part, decodeMessage(part));
    } catch (error) {
      throw new TransferDecodeError(`batch section ${index} does not decode: ${(error as Error).message}`);
    }
  });
  return { routingKey: stringAnnotation(envelope, PARTITION_KEY_ANNOTATION), events, size: payload.length };
}

/**
 * Re-frames a stored event for delivery to a consumer: the original header, properties, application
 * properties, body and footer bytes are kept verbatim, the message annotations are the original ones merged
 * with `annotations` (which win), and `deliveryAnnotations`, when given, replace any the producer sent.
 */
export function encodeForDelivery(
  encoded: Buffer,
  annotations: Record<string, Typed>,
  deliveryAnnotations?: Record<string, Typed>,
): Buffer {
  const head: Buffer[] = [];
  const tail: Buffer[] = [];
  const merged: Record<string, Typed> = {};
  const reader = new codecTypes.Reader(encoded);
  while (reader.remaining() > 0) {
    const start = reader.position;
    const section = reader.read();
    const bytes = encoded.subarray(start, reader.position);
    const code = sectionCode(section);
    if (code === HEADER) head.push(bytes);
    else if (code === MESSAGE_ANNOTATIONS) Object.assign(merged, typedEntries(section));
    else if (code !== DELIVERY_ANNOTATIONS) tail.push(bytes);
  }
  Object.assign(merged, annotations);
  const sections = [...head];
  if (deliveryAnnotations) sections.push(mapSection(DELIVERY_ANNOTATIONS, deliveryAnnotations));
  sections.push(mapSection(MESSAGE_ANNOTATIONS, merged), ...tail);
  return Buffer.concat(sections);
}

/** rhea's decoder returns a loosely typed message; it is the same shape its event contexts carry. */
function decodeMessage(encoded: Buffer): Message {
  return rhea.message.decode(encoded) as unknown as Message;
}

function describeEvent(encoded: Buffer, message: Message): DecodedEvent {
  const event: DecodedEvent = {
    encoded,
    properties: { ...(message.application_properties ?? {}) },
    body: bodyBytes(message.body),
  };
  const partitionKey = stringAnnotation(message, PARTITION_KEY_ANNOTATION);
  if (partitionKey !== undefined) event.partitionKey = partitionKey;
  const messageId = messageIdValue(message.message_id);
  if (messageId !== undefined) event.messageId = messageId;
  const correlationId = messageIdValue(message.correlation_id);
  if (correlationId !== undefined) event.correlationId = String(correlationId);
  if (typeof message.content_type === 'string') event.contentType = message.content_type;
  return event;
}

function bodyBytes(body: unknown): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (isSection(body)) {
    if (body.typecode !== DATA_SECTION) return Buffer.from(JSON.stringify(body.content), 'utf8');
    return body.multiple ? Buffer.concat(body.content as Buffer[]) : (body.content as Buffer);
  }
  // An amqp-value body: rhea hands over the plain value.
  if (Buffer.isBuffer(body)) return body;
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** AMQP message ids may be strings, ulongs, uuids (16-byte buffers) or binary; uuids become their text form. */
function messageIdValue(id: unknown): string | number | undefined {
  if (typeof id === 'string' || typeof id === 'number') return id;
  if (Buffer.isBuffer(id)) return id.length === 16 ? rhea.uuid_to_string(id) : id.toString('base64');
  return undefined;
}

function stringAnnotation(message: Message, name: string): string | undefined {
  const value: unknown = message.message_annotations?.[name];
  return typeof value === 'string' ? value : undefined;
}

function isSection(value: unknown): value is BodySection {
  return value instanceof SectionClass;
}

function sectionCode(section: Typed): number | undefined {
  const descriptor: unknown = (section.descriptor as Typed | undefined)?.value;
  return typeof descriptor === 'string' ? SYMBOLIC_SECTIONS[descriptor] : Number(descriptor);
}

/** A decoded map section's entries with their original AMQP types, keyed by the (symbol) key text. */
function typedEntries(section: Typed): Record<string, Typed> {
  const items = section.value as Typed[];
  const entries: Record<string, Typed> = {};
  for (let i = 0; i + 1 < items.length; i += 2) {
    entries[String(items[i]!.value)] = items[i + 1]!;
  }
  return entries;
}

function mapSection(code: number, entries: Record<string, Typed>): Buffer {
  const writer = new codecTypes.Writer();
  writer.write(rhea.types.described(rhea.types.wrap_ulong(code), rhea.types.wrap_symbolic_map(entries)));
  return writer.toBuffer();
}
