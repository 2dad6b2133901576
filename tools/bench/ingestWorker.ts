/**
 * The measured process of `npm run bench`. It builds the real wiring from the environment (as a
 * Functions worker does) and answers the orchestrator's commands: ingest a blob through the real
 * `ingestContent` use case, the floor's parts (parse + stringify, sending pre-built events through the
 * same producer), a download-only pass, a peak-RSS ingest, and the poll path (`pollStreams`).
 * Timings are taken here, around the work only; set-up and verification stay outside them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import type { EventData, EventDataBatch } from '@azure/event-hubs';
import { loadConfig } from '../../shared/config.js';
import { createProducer, EventHubsSink } from '../../shared/adapters/eventHubs/eventHubsSink.js';
import { toContentMessage, type ContentMessage } from '../../shared/core/contentMessage.js';
import { JsonArraySplitter } from '../../shared/core/jsonArrayStream.js';
import type { ContentListing, ContentType, StreamKey } from '../../shared/core/model.js';
import { buildEvent, serializeEvent, type EventProfile, type NormalizeContext } from '../../shared/core/normalize/index.js';
import { partitionKeyFor } from '../../shared/core/partitionKey.js';
import { HOUR_MS, MINUTE_MS } from '../../shared/core/windows.js';
import { noMetrics, silentLogger, type ContentQueue, type CursorStore, type EventSink, type Ledger } from '../../shared/ports.js';
import type { OutgoingEvent } from '../../shared/core/io.js';
import { ingestContent, MALFORMED_ATTEMPTS } from '../../shared/usecases/ingestContent.js';
import { ledgerEntryFor, type IngestContentDependencies, type IngestOutcome } from '../../shared/usecases/common/delivery.js';
import { pollStreams, type StreamPollResult } from '../../shared/usecases/pollStreams.js';
import { sweepStreams } from '../../shared/usecases/sweepStreams.js';
import { createWiring } from '../../shared/wiring.js';
import { notify, serveCommands } from '../common/ipc.js';

/**
 * The stage breakdown normalizes as the ingest path does, for a blob of this (fixed) identity in the
 * records' own tenant (another tenant would add a warning and a field to every event).
 */
const STAGE_CONTEXT = { source: 'O365ManagementActivity', contentType: 'Audit.General', contentId: 'bench-stages', contentCreated: '2026-01-01T00:00:00.000Z' } as const;

/** As functions/pollContent.ts: streams polled at once. */
const POLL_CONCURRENCY = 4;

const config = loadConfig(process.env);
const wiring = createWiring(config, { logger: silentLogger });
// One producer for the ingest path and the floor's pre-built sends: same connection, same link, same hub.
const producer = createProducer(config.eventHub);
const ingestOptions = { maxEventBytes: config.ingest.maxEventBytes, partitionKeyMode: config.ingest.partitionKeyMode };

const depsWith = (sink: EventSink): IngestContentDependencies => ({
  tenants: wiring.tenants,
  ledger: wiring.ledger,
  source: wiring.source,
  sink,
  blobs: wiring.blobs,
  queue: wiring.queue,
  clock: wiring.clock,
  logger: silentLogger,
  metrics: noMetrics,
});
const hubDeps = depsWith(new EventHubsSink(producer));

/** Events captured from an untimed ingest, sent again by the floor. */
let prebuilt: { partitionKey: string | undefined; events: EventData[] } | undefined;
/** Record texts of the last NDJSON file read, for the parse + stringify floor. */
let lines: { file: string; texts: string[] } | undefined;

interface BlobArgs {
  readonly listing: ContentListing;
  readonly tenantId: string;
  readonly contentType: ContentType;
}

/** A listed ledger row and the queue message the poller would have sent for it. */
async function listedMessage({ listing, tenantId, contentType }: BlobArgs): Promise<ContentMessage> {
  const message = toContentMessage({ tenantId, contentType }, listing, wiring.clock.now());
  await wiring.ledger.insertIfAbsent([ledgerEntryFor(message, 'listed')]);
  return message;
}

function expectDone(outcome: IngestOutcome): IngestOutcome {
  if (outcome.status !== 'done') throw new Error(`ingest ended ${outcome.status}: ${outcome.reason ?? ''}`);
  return outcome;
}

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** The EventData the sink builds for an outgoing event (see EventHubsSink). */
function toEventData(event: OutgoingEvent): EventData {
  return {
    body: Buffer.from(event.body, 'utf8'),
    messageId: event.messageId,
    correlationId: event.correlationId,
    contentType: 'application/json',
    properties: event.properties,
  };
}

/** Batches in flight at once, as EventHubsSink keeps them: the floor's transport is pipelined as deeply as the sink's. */
const SENDS_IN_FLIGHT = 2;

/** Sends events in batches filled with tryAdd, in order, with up to SENDS_IN_FLIGHT unacknowledged. */
async function sendAll(events: readonly EventData[], partitionKey: string | undefined): Promise<void> {
  const inFlight: Promise<void>[] = [];
  const send = async (full: EventDataBatch) => {
    if (inFlight.length >= SENDS_IN_FLIGHT) await inFlight.shift();
    const sending = producer.sendBatch(full);
    // Awaited in order later; until then a failure must not count as unhandled.
    sending.catch(() => undefined);
    inFlight.push(sending);
  };
  let batch: EventDataBatch = await producer.createBatch({ partitionKey });
  for (const event of events) {
    if (batch.tryAdd(event)) continue;
    await send(batch);
    batch = await producer.createBatch({ partitionKey });
    if (!batch.tryAdd(event)) throw new Error('an event does not fit an empty batch');
  }
  if (batch.count > 0) await send(batch);
  for (const sending of inFlight) await sending;
}

/** Record texts of an NDJSON file, kept while the same file is asked for again. */
function recordTexts(file: string): string[] {
  if (lines?.file !== file) {
    lines = undefined;
    collectGarbage();
    lines = { file, texts: readFileSync(file, 'utf8').split('\n') };
  }
  return lines.texts;
}

/**
 * Milliseconds of one run of `pass`. No collection is forced before it: right after a forced full
 * collection V8 runs allocation-heavy code measurably slower (the normalizer's pass 15–40 % slower, the
 * floor's 0–9 %), and ingest never forces one; passes follow each other as records do in a long blob.
 */
function timedPass(pass: () => number): number {
  const started = performance.now();
  if (pass() < 0) throw new Error('unreachable');
  return performance.now() - started;
}

/** The floor: JSON.parse + JSON.stringify of every record. */
function floorPass(texts: readonly string[]): number {
  let chars = 0;
  for (const text of texts) chars += JSON.stringify(JSON.parse(text)).length;
  return chars;
}

/** JSON.parse of every record. */
function parsePass(texts: readonly string[]): number {
  let fields = 0;
  for (const text of texts) fields += JSON.parse(text) === null ? 0 : 1;
  return fields;
}

/** What ingest does with every record before the hub: JSON.parse, normalize, serialize the event. */
function normalizePass(texts: readonly string[], context: NormalizeContext, profile: EventProfile | undefined): number {
  let chars = 0;
  for (const text of texts) {
    const record: unknown = JSON.parse(text);
    chars += serializeEvent(buildEvent(record, context, { rawText: text, profile }), record, text).length;
  }
  return chars;
}

/**
 * The splitter over the whole body in 64 KiB chunks, as a download delivers it: the texts alone (`push`),
 * or each element parsed as ingest takes them (`pushParsed`).
 */
function splitPass(body: Buffer, expected: number, parsed = false): number {
  const splitter = new JsonArraySplitter();
  let count = 0;
  for (let at = 0; at < body.length; at += 65_536) {
    const chunk = body.subarray(at, at + 65_536);
    if (!parsed) count += splitter.push(chunk).length;
    else for (const element of splitter.pushParsed(chunk)) count += element.parsed ? 1 : 0;
  }
  splitter.end();
  if (count !== expected) throw new Error(`the splitter found ${count} ${parsed ? 'parsed ' : ''}records, expected ${expected}`);
  return count;
}

/** Counts what the poll path writes, around the real adapters. */
function countingPorts() {
  const counts = { ledgerInsertCalls: 0, ledgerRowsOffered: 0, ledgerRowsInserted: 0, ledgerMarkEnqueued: 0, ledgerForgotten: 0, enqueueCalls: 0, messagesEnqueued: 0, cursorWrites: 0 };
  const enqueued = new Set<string>();
  const ledger: Ledger = {
    async insertIfAbsent(entries, options) {
      const inserted = await wiring.ledger.insertIfAbsent(entries, options);
      counts.ledgerInsertCalls++;
      counts.ledgerRowsOffered += entries.length;
      counts.ledgerRowsInserted += inserted.length;
      return inserted;
    },
    async forget(stream, contentIds, options) {
      await wiring.ledger.forget(stream, contentIds, options);
      counts.ledgerForgotten += contentIds.length;
    },
    async markEnqueued(stream, contentIds, at, options) {
      await wiring.ledger.markEnqueued(stream, contentIds, at, options);
      counts.ledgerMarkEnqueued += contentIds.length;
    },
    get: (stream, contentId, options) => wiring.ledger.get(stream, contentId, options),
    read: (stream, contentId, options) => wiring.ledger.read(stream, contentId, options),
    replaceIf: (entry, etag, options) => wiring.ledger.replaceIf(entry, etag, options),
    update: (stream, contentId, patch, options) => wiring.ledger.update(stream, contentId, patch, options),
    query: (stream, filter, options) => wiring.ledger.query(stream, filter, options),
  };
  const queue: ContentQueue = {
    async enqueue(messages, options) {
      await wiring.queue.enqueue(messages, options);
      counts.enqueueCalls++;
      counts.messagesEnqueued += messages.length;
      for (const m of messages) enqueued.add(m.contentId);
    },
    approximateDepth: (options) => wiring.queue.approximateDepth(options),
  };
  const cursors: CursorStore = {
    read: (stream, options) => wiring.cursors.read(stream, options),
    async write(stream, state, etag, options) {
      const written = await wiring.cursors.write(stream, state, etag, options);
      counts.cursorWrites++;
      return written;
    },
  };
  return { counts, enqueued, ledger, queue, cursors };
}

interface PollRun {
  ms: number;
  streams: (Pick<StreamPollResult, 'outcome' | 'windowsListed' | 'pagesListed' | 'blobsListed' | 'blobsEnqueued' | 'reason'> & { contentType: string })[];
}

serveCommands({
  async setup() {
    await wiring.ensureResources();
  },

  /** The measured ingest path: download → split → parse → normalize → publish, ledger row done. */
  async ingest(args: BlobArgs) {
    const message = await listedMessage(args);
    collectGarbage();
    const started = performance.now();
    const outcome = expectDone(await ingestContent(message, hubDeps, ingestOptions));
    return { ms: performance.now() - started, records: outcome.records };
  },

  /** Runs the use case untimed into a sink that keeps the events, so the floor can send exactly them. */
  async capture(args: BlobArgs) {
    const message = await listedMessage(args);
    const events: EventData[] = [];
    const capturing: EventSink = {
      open: () => ({
        get acknowledged() {
          return events.length;
        },
        add: async (event) => void events.push(toEventData(event)),
        flush: async () => undefined,
      }),
    };
    expectDone(await ingestContent(message, depsWith(capturing), ingestOptions));
    prebuilt = { partitionKey: partitionKeyFor(config.ingest.partitionKeyMode, message.tenantId, message.contentId), events };
    return { events: events.length, bytes: events.reduce((sum, e) => sum + (e.body as Buffer).length, 0) };
  },

  /** Floor, transport part: the captured events through the same producer to the same broker. */
  async sendPrebuilt() {
    if (!prebuilt) throw new Error('capture a blob first');
    collectGarbage();
    const started = performance.now();
    await sendAll(prebuilt.events, prebuilt.partitionKey);
    const ms = performance.now() - started;
    const events = prebuilt.events.length;
    prebuilt = undefined;
    return { ms, events };
  },

  /** Floor, CPU part: JSON.parse + JSON.stringify of each record's text. */
  async parseStringify({ file }: { file: string }) {
    const texts = recordTexts(file);
    collectGarbage();
    let chars = 0;
    const started = performance.now();
    for (const text of texts) chars += JSON.stringify(JSON.parse(text)).length;
    return { ms: performance.now() - started, records: texts.length, chars };
  },

  /**
   * The ingest path's CPU work on the same records, one thread, no I/O. First where the time goes: split
   * the blob body (64 KiB chunks), then, record by record as ingest does it, JSON.parse, normalize,
   * serialize the event as BlobDelivery does (for full, the record's source text spliced in as Raw) and
   * UTF-8 encode, each stage timed around its own call. Then the target figures, each a whole pass
   * timed like its yardstick and beside it, in pairs (yardstick, pass, yardstick, pass, ...): parse +
   * normalize + serialize of every record against JSON.parse + JSON.stringify of every record (the
   * floor), the split of the body against JSON.parse of every record, and the split that parses each
   * element (as ingest does) against JSON.parse of every record. Per-record timers put a
   * collection wherever it happens to fall; whole passes on both sides of a ratio are measured alike.
   */
  async stages({ file, profile, tenantId, pairs }: { file: string; profile?: EventProfile; tenantId: string; pairs: number }) {
    const texts = recordTexts(file);
    const body = Buffer.from(`[${texts.join(',')}]`, 'utf8');
    const context = { ...STAGE_CONTEXT, tenantId, processedTime: new Date().toISOString() };
    collectGarbage();
    const splitMs = timedPass(() => splitPass(body, texts.length));
    // Record by record, as ingest does it; each stage timed with the (cheap) monotonic clock.
    collectGarbage();
    const stage = { parse: 0, normalize: 0, stringify: 0, encode: 0 };
    let eventBytes = 0;
    for (const text of texts) {
      let t0 = performance.now();
      const record: unknown = JSON.parse(text);
      let t1 = performance.now();
      stage.parse += t1 - t0;
      const event = buildEvent(record, context, { rawText: text, profile });
      t0 = performance.now();
      stage.normalize += t0 - t1;
      const json = serializeEvent(event, record, text);
      t1 = performance.now();
      stage.stringify += t1 - t0;
      eventBytes += Buffer.from(json, 'utf8').length;
      stage.encode += performance.now() - t1;
    }
    collectGarbage();
    const floorMs = timedPass(() => floorPass(texts));
    const normalizeRatios: number[] = [];
    const splitRatios: number[] = [];
    const splitParsedRatios: number[] = [];
    // One untimed pass of each kind first, so the pairs start in the state they keep.
    floorPass(texts);
    normalizePass(texts, context, profile);
    parsePass(texts);
    splitPass(body, texts.length, true);
    for (let pair = 0; pair < pairs; pair++) {
      const floor = timedPass(() => floorPass(texts));
      normalizeRatios.push(timedPass(() => normalizePass(texts, context, profile)) / floor);
      const parse = timedPass(() => parsePass(texts));
      splitRatios.push(timedPass(() => splitPass(body, texts.length)) / parse);
      const parseAgain = timedPass(() => parsePass(texts));
      splitParsedRatios.push(timedPass(() => splitPass(body, texts.length, true)) / parseAgain - 1);
    }
    return {
      ms: {
        split: splitMs,
        parse: stage.parse,
        normalize: stage.normalize,
        stringify: stage.stringify,
        encode: stage.encode,
        floor: floorMs,
      },
      ratios: { normalize: normalizeRatios, split: splitRatios, splitParsed: splitParsedRatios },
      records: texts.length,
      eventBytes,
      recordBytes: texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0),
    };
  },

  /** What serving and HTTPS transfer cost on their own: the download, drained and discarded. */
  async download({ listing, tenantId }: BlobArgs) {
    collectGarbage();
    const started = performance.now();
    const { body } = await wiring.source.download(tenantId, listing.contentUri);
    let bytes = 0;
    for await (const chunk of body) bytes += chunk.byteLength;
    return { ms: performance.now() - started, bytes };
  },

  /** One ingest under V8's sampling CPU profiler (the one behind `node --cpu-prof`), written to `file`; start-up is left out. */
  async profile({ file, ...args }: BlobArgs & { file: string }) {
    const message = await listedMessage(args);
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    const started = performance.now();
    expectDone(await ingestContent(message, hubDeps, ingestOptions));
    const ms = performance.now() - started;
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    writeFileSync(file, JSON.stringify(profile));
    return { ms };
  },

  /** One ingest with the resident set sampled; run in a fresh process so nothing earlier inflates it. */
  async rss({ intervalMs, expectStatus = 'done', ...args }: BlobArgs & { intervalMs: number; expectStatus?: IngestOutcome['status'] }) {
    const message = await listedMessage(args);
    collectGarbage();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), intervalMs);
    const started = performance.now();
    try {
      let outcome = await ingestContent(message, hubDeps, ingestOptions);
      // A malformed body is downloaded again at each delivery until it counts as permanently malformed;
      // the queue's redeliveries come at once here (the last one copies the body to quarantine).
      for (let attempt = 1; outcome.status === 'retrying' && expectStatus !== 'retrying' && attempt < MALFORMED_ATTEMPTS; attempt++) {
        outcome = await ingestContent(message, hubDeps, ingestOptions);
      }
      if (outcome.status !== expectStatus) throw new Error(`ingest ended ${outcome.status}, expected ${expectStatus}: ${outcome.reason ?? ''}`);
      peak = Math.max(peak, process.memoryUsage().rss);
      return {
        ms: performance.now() - started,
        records: outcome.records ?? 0,
        reason: outcome.reason,
        baseline,
        peak,
        maxRss: process.resourceUsage().maxRSS * 1024,
      };
    } finally {
      clearInterval(sampler);
    }
  },

  /**
   * The poll path for one tenant's streams: runs (each with the function's time budget) until every
   * stream completes, then the run the timer would start next, which lists the overlap again.
   */
  async poll({ tenantId, budgetMs, maxRuns }: { tenantId: string; budgetMs: number; maxRuns: number }) {
    const streams: StreamKey[] = wiring.streams.filter((s) => s.tenantId === tenantId);
    const ports = countingPorts();
    const pollOnce = async (): Promise<PollRun> => {
      const started = performance.now();
      const results = await pollStreams(
        streams,
        { feed: wiring.feed, ledger: ports.ledger, queue: ports.queue, cursors: ports.cursors, listings: wiring.listings, gaps: wiring.gaps, sink: wiring.sink, blobs: wiring.blobs, clock: wiring.clock, logger: silentLogger, metrics: noMetrics },
        {
          settleLagInMs: config.poll.settleLagMinutes * MINUTE_MS,
          overlapInMs: config.poll.overlapMinutes * MINUTE_MS,
          initialLookbackInMs: config.poll.initialLookbackHours * HOUR_MS,
          concurrency: POLL_CONCURRENCY,
          deadlineAtMs: wiring.clock.now() + budgetMs,
        },
      );
      return {
        ms: performance.now() - started,
        streams: results.map((r) => ({
          contentType: r.stream.contentType,
          outcome: r.outcome,
          windowsListed: r.windowsListed,
          pagesListed: r.pagesListed,
          blobsListed: r.blobsListed,
          blobsEnqueued: r.blobsEnqueued,
          reason: r.reason,
        })),
      };
    };
    const started = performance.now();
    const runs: PollRun[] = [];
    while (runs.length < maxRuns && !runs.at(-1)?.streams.every((s) => s.outcome === 'complete')) runs.push(await pollOnce());
    const ms = performance.now() - started;
    // The orchestrator takes the simulator's listable set now: everything in it must be enqueued by the end of the next run.
    notify({ notice: 'next-run' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const next = await pollOnce();
    const queued = await wiring.storage.queue(config.contentQueueName).getProperties();
    return { ms, runs, next, counts: ports.counts, enqueuedIds: [...ports.enqueued], queueMessages: queued.approximateMessagesCount ?? -1 };
  },

  /**
   * One retention sweep of each of the tenant's streams, one after the other (as their sweep tasks run),
   * after `forget` ledger rows per stream were deleted (the blobs the sweep must find again).
   */
  async sweep({ tenantId, forget }: { tenantId: string; forget: number }) {
    const streams: StreamKey[] = wiring.streams.filter((s) => s.tenantId === tenantId);
    const forgotten: string[] = [];
    for (const stream of streams) {
      const ids: string[] = [];
      for await (const row of wiring.ledger.query(stream, {})) if (ids.length < forget) ids.push(row.contentId);
      await wiring.ledger.forget(stream, ids);
      forgotten.push(...ids);
    }
    const ports = countingPorts();
    const started = performance.now();
    const results = await sweepStreams(
      streams,
      { feed: wiring.sweepFeed, cursors: wiring.cursors, ledger: ports.ledger, queue: ports.queue, listings: wiring.listings, sweeps: wiring.sweeps, sink: wiring.sink, blobs: wiring.blobs, clock: wiring.clock, logger: silentLogger, metrics: noMetrics },
      { settleLagInMs: config.poll.settleLagMinutes * MINUTE_MS, overlapInMs: config.poll.overlapMinutes * MINUTE_MS, concurrency: 1, deadlineAtMs: wiring.clock.now() + 60 * MINUTE_MS },
    );
    const ms = performance.now() - started;
    const found = new Set(ports.enqueued);
    return {
      ms,
      streams: results.map((r) => ({ contentType: r.stream.contentType, outcome: r.outcome, windows: r.windows, blobsListed: r.blobsListed, blobsFound: r.blobsFound, apiCalls: r.apiCalls, tableOps: r.tableOps, durationMs: r.durationMs, reason: r.reason })),
      counts: ports.counts,
      forgotten: forgotten.length,
      refound: forgotten.filter((id) => found.has(id)).length,
    };
  },

  async close() {
    await producer.close();
  },
});
