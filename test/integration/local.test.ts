import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('npm run local', () => {
  it('driven for a bounded time, leaves in its output file every record and every Defender XDR revision the simulated tenant served', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-run-'));
    const out = join(dir, 'events.ndjson');
    const report = join(dir, 'report.json');
    const child = spawn(process.execPath, ['--import', 'tsx', 'tools/local.ts', '--seconds', '15', '--lookback-hours', '1', '--out', out, '--report', report, '--quiet'], {
      env: { ...process.env, O365_TENANTS: '', EVENTHUB_CONNECTION: '', EVENTHUB_CONNECTION__fullyQualifiedNamespace: '', AzureWebJobsStorage: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, output).toBe(0);

    const { servedBlobs, servedRecordIds, servedSecurityRevisions } = JSON.parse(readFileSync(report, 'utf8')) as { servedBlobs: number; servedRecordIds: string[]; servedSecurityRevisions: string[] };
    expect(servedBlobs).toBeGreaterThan(5);
    type Line = { EventOriginalUid?: string; EnvelopeSchema: string; Source: string; AdditionalFields?: { LastUpdateDateTime?: string } };
    const events = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
    const arrived = new Set(events.map((e) => e.EventOriginalUid));
    expect(servedRecordIds.filter((id) => !arrived.has(id))).toEqual([]);
    expect(servedSecurityRevisions.length).toBeGreaterThan(0);
    const revisions = new Set(events.filter((e) => e.Source === 'DefenderXDR').map((e) => `${e.EventOriginalUid}|${e.AdditionalFields?.LastUpdateDateTime}`));
    expect(servedSecurityRevisions.filter((r) => !revisions.has(r))).toEqual([]);
    expect(events.every((e) => e.EnvelopeSchema === 'm365.audit.normalized')).toBe(true);
    expect(output).toMatch(/stopped: \d+ events written to/);
  });
});
