/**
 * normalize: audit records on stdin → normalized events on stdout, one compact JSON event per line, in
 * input order. Input is a content blob (a JSON array, streamed through the splitter, never buffered whole)
 * when its first non-whitespace byte is `[`, and NDJSON (one record per line, blank lines ignored)
 * otherwise. Malformed input is reported on stderr by line or element, never with the record's text.
 *
 *   npm run --silent normalize -- --tenant <GUID> --content-type Audit.Exchange [--content-id <id>] [--profile compact] < blob.json
 *
 * `npm run normalize` runs this file compiled (tools/cli/normalizeCli.mjs builds it on first use and again
 * whenever a source file changed), so a run does not pay for a TypeScript transpile.
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { exitOnHelp } from '../common/cliHelp.js';
import { JsonArraySplitter, JsonStreamError, parsedElement, type SplitElement } from '../../shared/core/jsonArrayStream.js';
import { CONTENT_TYPES, isContentType, isGuid } from '../../shared/core/model.js';
import { serializeRecord, type EventProfile, type NormalizeContext } from '../../shared/core/normalize/index.js';

const USAGE = `usage: npm run --silent normalize -- --tenant <tenant GUID> --content-type <type> [--content-id <id>] [--profile full|compact]

Reads audit records on stdin, either a JSON array (a content blob) or NDJSON (one record per line),
and writes one normalized event per record, one per line, to stdout.

  --tenant        the stream's tenant GUID (OrganizationId, EventId)
  --content-type  ${CONTENT_TYPES.join(', ')}
  --content-id    SourceContentId of the events (default: stdin)
  --profile       full (default: the record verbatim in Raw) or compact (no Raw; every record field
                  that no normalized field carries in AdditionalFields), as EVENT_PROFILE

Exit status: 0 every record was normalized; 1 some input was malformed (each case is reported on
stderr as "line <n>: <reason>" or "element <index>: <reason>"; valid JSON that is not an object is
still normalized, with a warning in the event); 2 usage error.
`;

/** Output is gathered and written in large pieces: one write() per event would dominate the run time. */
const FLUSH_AT_CHARS = 1 << 16;
const LF = 0x0a;

type Usage = { ok: true; context: Omit<NormalizeContext, 'processedTime'>; profile: EventProfile } | { ok: false; message?: string };

function parseUsage(argv: string[]): Usage {
  let values: { tenant?: string; 'content-type'?: string; 'content-id'?: string; profile?: string; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      options: {
        tenant: { type: 'string' },
        'content-type': { type: 'string' },
        'content-id': { type: 'string' },
        profile: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
  if (values.help) return { ok: false };
  const tenant = values.tenant;
  const contentType = values['content-type'];
  if (!isGuid(tenant)) return { ok: false, message: '--tenant must be a tenant GUID' };
  if (!isContentType(contentType)) return { ok: false, message: `--content-type must be one of ${CONTENT_TYPES.join(', ')}` };
  const profile = values.profile ?? 'full';
  if (profile !== 'full' && profile !== 'compact') return { ok: false, message: '--profile must be full or compact' };
  return {
    ok: true,
    profile,
    context: {
      source: 'O365ManagementActivity',
      tenantId: tenant,
      contentType,
      contentId: values['content-id'] ?? 'stdin',
    },
  };
}

/** Buffered stdout that waits for 'drain' when the pipe is full. */
class Output {
  private parts: string[] = [];
  private chars = 0;

  async line(text: string): Promise<void> {
    this.parts.push(text, '\n');
    this.chars += text.length + 1;
    if (this.chars >= FLUSH_AT_CHARS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.chars = 0;
    if (!process.stdout.write(text)) await once(process.stdout, 'drain');
  }
}

async function main(): Promise<number> {
  exitOnHelp(process.argv.slice(2), USAGE);
  const usage = parseUsage(process.argv.slice(2));
  if (!usage.ok) {
    if (usage.message === undefined) {
      process.stdout.write(USAGE);
      return 0;
    }
    process.stderr.write(`normalize: ${usage.message}\n\n${USAGE}`);
    return 2;
  }
  const { profile } = usage;
  const output = new Output();
  let malformed = false;
  // One context (so one ProcessedTime) per second of the run, as a blob's records share one in ingest.
  let context: NormalizeContext = { ...usage.context, processedTime: new Date().toISOString() };
  let contextSince = Date.now();

  // A line or an array element, parsed (see readLines and readArray).
  const normalize = async ({ text, value: record, parsed }: SplitElement, where: string): Promise<void> => {
    if (!parsed) {
      // The parser's message quotes the input; report only where the problem is.
      process.stderr.write(`${where}: not valid JSON\n`);
      malformed = true;
      return;
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      process.stderr.write(`${where}: not a JSON object (normalized with a warning)\n`);
      malformed = true;
    }
    const now = Date.now();
    if (now - contextSince >= 1000) {
      context = { ...usage.context, processedTime: new Date(now).toISOString() };
      contextSince = now;
    }
    await output.line(serializeRecord(record, context, { rawText: text, profile }).body);
  };

  const input = process.stdin[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let first: number | undefined;
  while (first === undefined) {
    const next = await input.next();
    if (next.done) break;
    head.push(next.value);
    first = firstSignificantByte(head);
  }
  const chunks = (async function* () {
    yield* head;
    for (let next = await input.next(); !next.done; next = await input.next()) yield next.value;
  })();

  if (first === 0x5b) {
    if (await readArray(chunks, normalize)) malformed = true;
  } else await readLines(chunks, normalize);
  await output.flush();
  return malformed ? 1 : 0;
}

/** The first byte that is neither whitespace nor part of a leading UTF-8 byte order mark, if seen yet. */
function firstSignificantByte(chunks: Buffer[]): number | undefined {
  let position = 0;
  for (const chunk of chunks) {
    for (const byte of chunk) {
      const inBom = position < 3 && byte === [0xef, 0xbb, 0xbf][position];
      position++;
      if (!inBom && byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return byte;
    }
  }
  return undefined;
}

/** Streams a JSON array through the splitter, each element parsed; returns whether its structure was broken. */
async function readArray(
  chunks: AsyncIterable<Buffer>,
  normalize: (element: SplitElement, where: string) => Promise<void>,
): Promise<boolean> {
  const splitter = new JsonArraySplitter();
  let index = 0;
  try {
    for await (const chunk of chunks) {
      for (const element of splitter.pushParsed(chunk)) await normalize(element, `element ${index++}`);
    }
    splitter.end();
    return false;
  } catch (error) {
    if (!(error instanceof JsonStreamError)) throw error;
    process.stderr.write(`input: ${error.message}\n`);
    process.stdin.destroy();
    return true;
  }
}

/**
 * Reads NDJSON line by line (LF or CRLF; blank lines are skipped but counted), each line handed on parsed. Each chunk's complete lines
 * (up to its last LF) are decoded in one piece and split on LF as text; the bytes after the last LF are
 * carried to the next chunk. A LF byte is never part of a multi-byte UTF-8 sequence, so the pieces decode
 * as the lines would one by one (invalid UTF-8 becomes U+FFFD either way), at a native call per chunk
 * instead of one per line (a streaming TextDecoder, which would carry a character itself, decodes about
 * four times slower in Node 20). trim() removes a byte order mark at the start of a line.
 */
async function readLines(
  chunks: AsyncIterable<Buffer>,
  normalize: (line: SplitElement, where: string) => Promise<void>,
): Promise<void> {
  let carried: Buffer[] = [];
  let lineNumber = 0;
  const lines = async (text: string): Promise<void> => {
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      lineNumber++;
      const line = text.slice(start, end).trim();
      if (line !== '') await normalize(parsedElement(line), `line ${lineNumber}`);
      start = end + 1;
    }
    // The text ends a line (at a chunk's last LF, or at the end of the input).
    lineNumber++;
    const line = text.slice(start).trim();
    if (line !== '') await normalize(parsedElement(line), `line ${lineNumber}`);
  };
  for await (const chunk of chunks) {
    const last = chunk.lastIndexOf(LF);
    if (last === -1) {
      carried.push(chunk);
      continue;
    }
    const complete = carried.length === 0 ? chunk.subarray(0, last) : Buffer.concat([...carried, chunk.subarray(0, last)]);
    carried = last + 1 < chunk.length ? [chunk.subarray(last + 1)] : [];
    await lines(complete.toString('utf8'));
  }
  if (carried.length > 0) await lines(Buffer.concat(carried).toString('utf8'));
}

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  // The reader went away (e.g. `| head`): stop quietly, as a filter should.
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main();
