// The one unit test that starts a child process: the normalize CLI is exercised as users run it.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { normalizeRecord } from '../../../shared/core/normalize/normalizeRecord.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TENANT = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const ARGS = ['--tenant', TENANT, '--content-type', 'Audit.Exchange', '--content-id', 'blob-1'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI; `onOutput` sees each piece of its stdout (`first` for the first) as it comes. */
function start(args: string[], onOutput: (child: ChildProcessWithoutNullStreams, first: boolean) => void): { child: ChildProcessWithoutNullStreams; done: Promise<Run> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/cli/normalize.ts', ...args], { cwd: repoRoot });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    const first = stdout === '';
    stdout += text;
    onOutput(child, first);
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

/** Runs the CLI with `input` on stdin; with `stopAfterFirstOutput`, closes its stdout after the first bytes. */
function run(args: string[], input: string, stopAfterFirstOutput = false): Promise<Run> {
  const { child, done } = start(args, (c) => {
    if (stopAfterFirstOutput) c.stdout.destroy();
  });
  // The child may stop reading early (usage error, closed stdout); that is not a failure of the test.
  child.stdin.on('error', () => {});
  child.stdin.end(input);
  return done;
}

/**
 * Runs the CLI with `first` on stdin, then, once output comes (the CLI is reading), `rest` written
 * `pieceBytes` at a time a few milliseconds apart, so the CLI reads it in many small chunks.
 */
function runInPieces(args: string[], first: string, rest: Buffer, pieceBytes: number): Promise<Run> {
  const write = (child: ChildProcessWithoutNullStreams, from: number): void => {
    if (from >= rest.length) return void child.stdin.end();
    child.stdin.write(rest.subarray(from, from + pieceBytes), () => setTimeout(() => write(child, from + pieceBytes), 2));
  };
  const { child, done } = start(args, (c, isFirst) => {
    if (isFirst) write(c, 0);
  });
  child.stdin.write(`${first}\n`);
  return done;
}

function events(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function fixtureRecords(): string[] {
  return ['exchange', 'sharepoint', 'entra', 'dlp', 'general'].flatMap((name) =>
    readFileSync(path.join(repoRoot, 'test', 'fixtures', 'records', `${name}.ndjson`), 'utf8')
      .split('\n')
      .filter((line) => line !== ''),
  );
}

describe('normalize CLI', { timeout: 60_000 }, () => {
  it('writes one event per NDJSON line and reports a malformed line by number, without its text', async () => {
    const input = [
      '{"Id":"r1","RecordType":1,"CreationTime":"2024-06-03T08:15:22"}',
      '',
      '{"Id":"r2", "UserId": "secret-person@contoso.com"',
      '{"Id":"r3","RecordType":2,"CreationTime":"2024-06-03T08:15:23"}\r',
      '{"Id":"r4","RecordType":6,"CreationTime":"2024-06-03T08:15:24"}',
    ].join('\n');
    const result = await run(ARGS, input);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('line 3: not valid JSON\n');
    const output = events(result.stdout);
    expect(output.map((event) => event.EventOriginalUid)).toEqual(['r1', 'r3', 'r4']);
    expect(output[0]).toMatchObject({
      OrganizationId: TENANT,
      SourceContentType: 'Audit.Exchange',
      SourceContentId: 'blob-1',
      RecordTypeName: 'ExchangeAdmin',
      TimeGenerated: '2024-06-03T08:15:22.000Z',
    });
    expect(output[0]!.ProcessedTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('reads NDJSON cut anywhere into chunks as it reads it whole: CRLF, a BOM, characters split across chunks, no final LF', async () => {
    // Four-byte characters seven times over: with seven-byte pieces, one is cut at every offset.
    const subject = '\u{1F600}é€'.repeat(7);
    const lines = [
      '\uFEFF{"Id":"c1","RecordType":2,"CreationTime":"2024-06-03T08:15:22","Operation":"Send","ObjectId":"' + subject + '"}',
      '{"Id":"c2","RecordType":2,"CreationTime":"2024-06-03T08:15:23","Operation":"Send","ObjectId":"' + subject + '"}\r',
      '',
      '{"Id":"c3","RecordType":2,"CreationTime":"2024-06-03T08:15:24","Operation":"Send","ObjectId":"' + subject + '"}',
    ];
    // A first record large enough that its event fills the CLI's output buffer and is written at once:
    // when it arrives the CLI is reading, and the rest goes to it in pieces.
    const first = `{"Id":"c0","RecordType":2,"CreationTime":"2024-06-03T08:15:21","Operation":"Send","Padding":"${'x'.repeat(70_000)}"}`;
    const rest = Buffer.from(lines.join('\n'), 'utf8');
    const whole = await run(ARGS, `${first}\n${rest.toString('utf8')}`);
    const cut = await runInPieces(ARGS, first, rest, 7);
    expect(cut.code, cut.stderr).toBe(0);
    expect(cut.stderr).toBe('');
    const ids = (r: Run) => events(r.stdout).map((e) => [e.EventOriginalUid, e.Object, e.RawSha256]);
    expect(ids(cut)).toEqual(ids(whole));
    expect(events(cut.stdout).map((e) => e.EventOriginalUid)).toEqual(['c0', 'c1', 'c2', 'c3']);
    expect(events(cut.stdout).slice(1).every((e) => e.Object === subject)).toBe(true);
  });

  it('streams a JSON array: one event per element, in order, exit 0', async () => {
    const records = fixtureRecords();
    const result = await run(ARGS, `\n[\n${records.join(',\n')}\n]\n`);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const output = events(result.stdout);
    expect(output.map((event) => event.EventOriginalUid)).toEqual(records.map((text) => (JSON.parse(text) as { Id: string }).Id));
    expect(output.map((event) => event.Raw)).toEqual(records.map((text) => JSON.parse(text) as unknown));
  });

  it('writes compact events with --profile compact: no Raw, the record fields no column carries in AdditionalFields', async () => {
    const records = fixtureRecords();
    const result = await run([...ARGS, '--profile', 'compact'], records.join('\n'));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const output = events(result.stdout);
    expect(output).toHaveLength(records.length);
    for (const [i, event] of output.entries()) {
      const record = JSON.parse(records[i]!) as Record<string, unknown>;
      expect(event).not.toHaveProperty('Raw');
      expect(event.RawSizeBytes).toBe(Buffer.byteLength(records[i]!));
      const additional = (event.AdditionalFields ?? {}) as Record<string, unknown>;
      for (const name of Object.keys(additional)) expect(additional[name]).toEqual(record[name]);
      if (Object.hasOwn(record, 'CreationTime')) expect(additional.CreationTime).toBe(record.CreationTime);
    }
  });

  it('refuses an unknown --profile', async () => {
    const result = await run([...ARGS, '--profile', 'tiny'], '{"Id":"r1"}\n');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--profile must be full or compact/);
  });

  it('cleans every IP format of the fixtures the same way as the pipeline', async () => {
    const lines = readFileSync(path.join(repoRoot, 'test', 'fixtures', 'records', 'ip-formats.ndjson'), 'utf8').split('\n').filter((l) => l !== '');
    const result = await run(ARGS, lines.join('\n'));
    expect(result.code, result.stderr).toBe(0);
    const fields = (e: Record<string, unknown>) => ({ ip: e.SrcIpAddr, port: e.SrcPortNumber, host: e.SrcHostname, original: e.SrcIpAddrOriginal });
    const ctx = { source: 'O365ManagementActivity' as const, tenantId: TENANT, contentType: 'Audit.Exchange', contentId: 'blob-1', processedTime: '2024-06-08T00:00:00.000Z' };
    const expected = lines.map((l) => fields(normalizeRecord(JSON.parse(l), ctx) as unknown as Record<string, unknown>));
    expect(events(result.stdout).map(fields)).toEqual(expected);
    expect(expected.filter((e) => e.port !== undefined).length).toBeGreaterThan(3);
  });

  it('reports a malformed array element by index and keeps going', async () => {
    const result = await run(ARGS, '[{"Id":"e0"}, {"Id": oops}, {"Id":"e2"}, 7]');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('element 1: not valid JSON\nelement 3: not a JSON object (normalized with a warning)\n');
    const output = events(result.stdout);
    expect(output.map((event) => event.EventOriginalUid)).toEqual(['e0', 'e2', null]);
    expect(output[2]!.Raw).toBe(7);
  });

  it('stops at a broken array structure after emitting the elements before it', async () => {
    const result = await run(ARGS, '[{"Id":"e0"},{"Id":"e1"}] {"Id":"x"}');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('input: unexpected data after the end of the array at byte 26\n');
    expect(events(result.stdout).map((event) => event.EventOriginalUid)).toEqual(['e0', 'e1']);
  });

  it.each([
    ['no arguments', [], /--tenant must be a tenant GUID/],
    ['a tenant that is not a GUID', ['--tenant', 'contoso', '--content-type', 'Audit.Exchange'], /--tenant must be a tenant GUID/],
    ['a missing content type', ['--tenant', TENANT], /--content-type must be one of/],
    ['an unknown content type', ['--tenant', TENANT, '--content-type', 'Audit.Everything'], /--content-type must be one of/],
    ['an unknown option', [...ARGS, '--verbose'], /Unknown option '--verbose'/],
  ])('exits 2 with the usage on stderr for %s', async (_case, args, message) => {
    const result = await run(args, '{"Id":"r1"}\n');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('usage: npm run --silent normalize');
    expect(result.stdout).toBe('');
  });

  it('stops quietly when its reader goes away (EPIPE)', async () => {
    const record = fixtureRecords()[0]!;
    const result = await run(ARGS, `${record}\n`.repeat(20_000), true);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
  });
});
