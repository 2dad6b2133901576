import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);
let out: string;
let entries: string[];

function zipEntries(path: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const names: string[] = [];
      zip.on('entry', (e: yauzl.Entry) => {
        names.push(e.fileName);
        zip.readEntry();
      });
      zip.once('end', () => resolve(names));
      zip.once('error', reject);
      zip.readEntry();
    });
  });
}

beforeAll(async () => {
  // What a local run leaves behind (with real tenants: real audit data) must never be packaged.
  mkdirSync(join(ROOT, '.local'), { recursive: true });
  writeFileSync(join(ROOT, '.local', 'package-test-events.ndjson'), '{"UserId":"alice@contoso.com"}\n');
  out = mkdtempSync(join(tmpdir(), 'package-'));
  await run('npm', ['run', '--silent', 'package', '--', '--out', out, '--quiet'], { cwd: ROOT, maxBuffer: 10_000_000 });
  entries = await zipEntries(join(out, 'm365-audit-ingest.zip'));
}, 240_000);

describe('npm run package', () => {
  it('holds the compiled app, host.json and a package.json without dev dependencies', () => {
    for (const f of ['host.json', 'package.json', 'dist/functions/ingestContent.js', 'dist/shared/wiring.js', 'node_modules/@azure/functions/package.json']) expect(entries).toContain(f);
    const pkg = JSON.parse(readFileSync(join(out, 'app', 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg).not.toHaveProperty('devDependencies');
    expect(pkg).not.toHaveProperty('scripts');
    expect(pkg.main).toBe('dist/functions/*.js');
  });

  it('holds no .local/, no test keys, no TypeScript source and no dev dependency', () => {
    expect(entries.filter((e) => e.startsWith('.local/') || e.includes('/.local/'))).toEqual([]);
    expect(entries.filter((e) => /(^|\/)(test|tools|infra|docs)\//.test(e) && !e.startsWith('node_modules/'))).toEqual([]);
    expect(entries.filter((e) => /\.(pem|key|pfx|p12)$/.test(e) || e.includes('certs/'))).toEqual([]);
    expect(entries.filter((e) => /\.(ts|mts|cts)$/.test(e))).toEqual([]);
    expect(entries.filter((e) => e.endsWith('.map'))).toEqual([]);
    const { devDependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    // A devDependency that a production dependency also needs (rhea, under @azure/event-hubs) is production code.
    const devOnly = Object.entries(lock.packages).filter(([, p]) => p.dev).map(([path]) => path);
    for (const name of ['vitest', 'typescript', 'azurite', 'eslint', 'tsx', '@peculiar/x509', 'yazl']) expect(Object.keys(devDependencies)).toContain(name);
    for (const name of ['vitest', 'typescript', 'azurite', 'eslint', 'tsx']) expect(devOnly).toContain(`node_modules/${name}`);
    const packagedDev = devOnly.filter((dir) => entries.some((e) => e.startsWith(`${dir}/`)));
    expect(packagedDev).toEqual([]);
  });

  it('runs from the package alone: every function module and the telemetry exporter load outside the repository', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'package-run-'));
    cpSync(join(out, 'app'), copy, { recursive: true });
    const modules = entries.filter((e) => /^dist\/functions\/[^/]+\.js$/.test(e)).concat('dist/shared/adapters/telemetry/azureMonitor.js');
    expect(modules.length).toBeGreaterThan(5);
    const script = `for (const m of ${JSON.stringify(modules)}) await import('./' + m); console.log('loaded', ${modules.length});`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: copy, env: { PATH: process.env.PATH } });
    expect(stdout).toContain(`loaded ${modules.length}`);
  }, 60_000);

  it('.funcignore keeps a publish from the repository root to the app', () => {
    const rules = readFileSync(join(ROOT, '.funcignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const rule of ['.local/', '.package/', 'test/', 'tools/', 'infra/', 'docs/', '*.ts', 'local.settings.json', '.git*']) expect(rules).toContain(rule);
  });
});
