import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runTsx } from './setup.js';

function run(args: string[], env: Record<string, string | undefined> = {}) {
  return runTsx(args, { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS, ...env });
}

describe('npm run local -- --persist', () => {
  it('keeps Azurite\'s data under .local/azurite and prints the settings with which ops reads the run', async () => {
    const local = spawn(process.execPath, ['--import', 'tsx', 'tools/local/local.ts', '--persist', '--seconds', '60', '--quiet', '--lookback-hours', '1', '--out', '.local/persist-test-events.ndjson'], {
      env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS },
    });
    let stdout = '';
    try {
      const opsLine = await new Promise<string>((resolve, reject) => {
        local.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          const line = stdout.split('\n').find((l) => l.startsWith('ops ') && stdout.includes('schedule '));
          if (line) resolve(line);
        });
        local.once('exit', (code) => reject(new Error(`local exited early (${code}): ${stdout}`)));
      });
      expect(stdout).toMatch(/azurite .*\(data kept in .*\.local\/azurite\)/);
      const storage = /AzureWebJobsStorage="([^"]+)"/.exec(opsLine)![1]!;
      const tenants = /O365_TENANTS='([^']+)'/.exec(opsLine)![1]!;
      expect(storage).toMatch(/AccountName=devstoreaccount1;/);
      // The printed settings are all ops status needs: no Event Hubs setting, no secret.
      const status = await run(['tools/cli/ops.ts', 'status'], { AzureWebJobsStorage: storage, O365_TENANTS: tenants });
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/simulated Audit\.Exchange: /);
    } finally {
      local.kill('SIGINT');
      await new Promise((r) => local.once('exit', r));
    }
    expect(existsSync('.local/azurite')).toBe(true);
    expect(readdirSync('.local/azurite').length).toBeGreaterThan(0);
  }, 150_000);
});
