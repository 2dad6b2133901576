import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BlobVerification, VerifySummary } from '../../shared/core/verify.js';

interface Report {
  servedBlobs: number;
  servedRecordIds: string[];
  servedSecurityRevisions: string[];
  invariant: { holds?: boolean; violations: number; sweepFound: number };
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string; stdout: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => ((output += d.toString()), (stdout += d.toString())));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output, stdout })));
}

describe('npm run local', () => {
  const dir = mkdtempSync(join(tmpdir(), 'local-run-'));
  const out = join(dir, 'events.ndjson');
  const reportPath = join(dir, 'report.json');
  let local: { code: number | null; output: string };
  let report: Report;
  type Line = { EventOriginalUid?: string; EnvelopeSchema: string; EventSchema?: string; Source: string; AdditionalFields?: { LastUpdateDateTime?: string } };
  let events: Line[];

  beforeAll(async () => {
    local = await run(['tools/local/local.ts', '--seconds', '15', '--lookback-hours', '1', '--out', out, '--report', reportPath, '--quiet'], {
      ...process.env, O365_TENANTS: '', EVENTHUB_CONNECTION: '', EVENTHUB_CONNECTION__fullyQualifiedNamespace: '', AzureWebJobsStorage: '',
    });
    report = JSON.parse(readFileSync(reportPath, 'utf8')) as Report;
    events = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
  }, 90_000);

  it('driven for a bounded time, leaves in its output file every record and every Defender XDR revision the simulated tenant served', () => {
    expect(local.code, local.output).toBe(0);
    const { servedBlobs, servedRecordIds, servedSecurityRevisions } = report;
    expect(servedBlobs).toBeGreaterThan(5);
    const arrived = new Set(events.map((e) => e.EventOriginalUid));
    expect(servedRecordIds.filter((id) => !arrived.has(id))).toEqual([]);
    expect(servedSecurityRevisions.length).toBeGreaterThan(0);
    const revisions = new Set(events.filter((e) => e.Source === 'DefenderXDR').map((e) => `${e.EventOriginalUid}|${e.AdditionalFields?.LastUpdateDateTime}`));
    expect(servedSecurityRevisions.filter((r) => !revisions.has(r))).toEqual([]);
    // Normalized events, and the pipeline's own events (blob manifests) beside them.
    expect(events.every((e) => e.EnvelopeSchema === 'm365.audit.normalized' || (e.EnvelopeSchema === 'm365.audit.pipeline' && e.EventSchema === 'BlobManifest'))).toBe(true);
    expect(local.output).toMatch(/stopped: \d+ events written to/);
  });

  it('runs reconcile on its local schedule and ends with the completeness invariant holding', () => {
    expect(local.output).toMatch(/^schedule {5}reconcile "\*\/30 \* \* \* \* \*"; delivery retries back off from 5 s to 60 s$/m);
    expect(local.output).toMatch(/^reconciled {3}sweep found \d+ · invariant holds \(7 streams\)$/m);
    expect(report.invariant).toMatchObject({ holds: true, violations: 0 });
  });

  it('its output passes ops verify: no blob is short of its manifest', async () => {
    const verify = await run(['tools/cli/ops.ts', 'verify', '--events', out, '--json'], { PATH: process.env.PATH });
    expect(verify.code, verify.output).toBe(0);
    const { summary } = JSON.parse(verify.stdout) as { summary: VerifySummary };
    expect(summary).toMatchObject({ short: 0, mismatch: 0, unreadable: 0 });
    expect(summary.blobs).toBeGreaterThanOrEqual(report.servedBlobs);
  });

  it('every content blob the tenant served has a manifest, and every one verifies', async () => {
    const verify = await run(['tools/cli/ops.ts', 'verify', '--events', out, '--json'], { PATH: process.env.PATH });
    const { summary, blobs } = JSON.parse(verify.stdout) as { summary: VerifySummary; blobs: BlobVerification[] };
    const content = blobs.filter((b) => !b.contentType?.startsWith('DefenderXDR.'));
    expect(content.filter((b) => b.verdict !== 'complete')).toEqual([]);
    expect(content.length).toBe(report.servedBlobs);
    expect(summary.manifests).toBeGreaterThanOrEqual(report.servedBlobs);
  });
});

describe('npm run local with every blob download failing for three minutes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'local-outage-'));
  const out = join(dir, 'events.ndjson');
  const reportPath = join(dir, 'report.json');
  let local: { code: number | null; output: string };

  beforeAll(async () => {
    // Three minutes of 503s, then at most one 60 s backoff (the local maximum) and the delivery itself.
    local = await run(['tools/local/local.ts', '--seconds', '270', '--download-outage', '180', '--lookback-hours', '1', '--out', out, '--report', reportPath], {
      ...process.env, O365_TENANTS: '', EVENTHUB_CONNECTION: '', EVENTHUB_CONNECTION__fullyQualifiedNamespace: '', AzureWebJobsStorage: '',
    });
  }, 330_000);

  it('backs off and retries, and every record arrives before the run ends; nothing is poisoned or failed', () => {
    expect(local.code, local.output).toBe(0);
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as Report;
    const events = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { EventOriginalUid?: string; EventSchema?: string });
    expect(report.servedBlobs).toBeGreaterThan(5);
    const arrived = new Set(events.map((e) => e.EventOriginalUid));
    expect(report.servedRecordIds.filter((id) => !arrived.has(id))).toEqual([]);
    expect(events.some((e) => e.EventSchema === 'PipelineError')).toBe(false);
    // The outage was real: delivery retried (the progress lines count the re-enqueued attempts).
    const retries = Math.max(...[...local.output.matchAll(/delivery retries (\d+)/g)].map((m) => Number(m[1])));
    expect(retries).toBeGreaterThan(0);
    expect(local.output).toMatch(/poisoned 0\)/);
  });
});
