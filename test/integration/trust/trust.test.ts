import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startSimTenant, type SimTenant } from '../../../tools/standins/simTenant/index.js';
import { ensureLocalPki, localServerTls, pkiPaths, writeTrustBundle } from '../../../tools/local/localPki.js';
import { loadConfig } from '../../../shared/config.js';
import { createWiring } from '../../../shared/wiring.js';
import { runTsx } from '../setup.js';

const ROOT = new URL('../../../', import.meta.url);
const execFileAsync = promisify(execFile);
const run = (file: string, args: string[], env: Record<string, string | undefined>) => runTsx([file, ...args], { PATH: process.env.PATH, ...env }, ROOT);

describe('no committed CA key is in any trust path', () => {
  it('no tracked certificate is a CA, and no tracked file holds the key of one', () => {
    const files = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter((f) => /\.(pem|crt|cer|key)$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const text = readFileSync(new URL(file, ROOT), 'utf8');
      for (const block of text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) {
        expect(new X509Certificate(block).ca, `${file} is a CA certificate`).toBe(false);
      }
    }
  });

  it('only the scripts that use the stand-ins trust the generated CA, appended to the user\'s own; ops trusts nothing extra', () => {
    const { scripts } = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { scripts: Record<string, string> };
    for (const [name, line] of Object.entries(scripts)) {
      const settings = line.match(/NODE_EXTRA_CA_CERTS=\S+/g) ?? [];
      for (const s of settings) expect(s, `${name}`).toBe('NODE_EXTRA_CA_CERTS=$(tsx');
      expect(line, name).not.toMatch(/test\/certs/);
    }
    for (const name of ['local', 'bench', 'soak', 'sim']) expect(scripts[name], name).toMatch(/^NODE_EXTRA_CA_CERTS=\$\(tsx tools\/local\/localPki\.ts\) tsx /);
    for (const name of ['ops', 'normalize', 'start']) expect(scripts[name], name).not.toContain('NODE_EXTRA_CA_CERTS');
    expect(readFileSync(new URL('.ci/run', ROOT), 'utf8')).not.toMatch(/NODE_EXTRA_CA_CERTS=/);
  });
});

describe('the generated stand-in PKI', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pki-'));
  });

  it('makes a CA without a key on disk and a localhost server certificate it signed', async () => {
    const pki = await ensureLocalPki(join(dir, 'a'));
    const ca = new X509Certificate(readFileSync(pki.caCertPath));
    const server = new X509Certificate(readFileSync(pki.serverCertPath));
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.subjectAltName).toContain('DNS:localhost');
    expect(server.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(server.checkPrivateKey((await import('node:crypto')).createPrivateKey(readFileSync(pki.serverKeyPath)))).toBe(true);
    // Only one private key was written: the server's. The CA's was never saved.
    const written = execFileSync('sh', ['-c', `cat ${join(dir, 'a')}/*`], { encoding: 'utf8' });
    expect(written.match(/PRIVATE KEY-----/g)).toHaveLength(2); // BEGIN and END of server.key
    // A second call keeps what is there.
    await ensureLocalPki(join(dir, 'a'));
    expect(new X509Certificate(readFileSync(pki.serverCertPath)).serialNumber).toBe(server.serialNumber);
  });

  it('keeps the user\'s NODE_EXTRA_CA_CERTS: a process started with the bundle trusts the user\'s CA and the local CA', async () => {
    // Two independent CAs: "corporate" stands for the user's own NODE_EXTRA_CA_CERTS.
    const corporate = await ensureLocalPki(join(dir, 'corporate'));
    const local = await ensureLocalPki(join(dir, 'local'));
    const servers = await Promise.all(
      [corporate, local].map(
        (p) =>
          new Promise<{ port: number; close: () => void }>((resolve) => {
            const s = createServer(localServerTls(p.dir), (_req, res) => res.end('ok')).listen(0, '127.0.0.1', () =>
              resolve({ port: (s.address() as AddressInfo).port, close: () => s.close() }),
            );
          }),
      ),
    );
    try {
      const probe = join(dir, 'probe.mjs');
      writeFileSync(
        probe,
        `const out = [];
         for (const port of process.argv.slice(2)) {
           try { const r = await fetch('https://127.0.0.1:' + port + '/'); out.push(port + ' ' + (await r.text())); }
           catch (e) { out.push(port + ' ' + (e.cause?.code ?? e.message)); }
         }
         console.log(out.join('\\n'));`,
      );
      // Asynchronous: the servers run in this process and must keep answering while the probe runs.
      const probeWith = async (extra: string | undefined) =>
        (await execFileAsync(process.execPath, [probe, ...servers.map((s) => String(s.port))], { env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: extra }, encoding: 'utf8' })).stdout;
      const [corp, loc] = servers.map((s) => s.port);

      // The user's setting alone: only the corporate server is trusted.
      expect(await probeWith(corporate.caCertPath)).toMatch(new RegExp(`${corp} ok\\n${loc} (?!ok)`));
      // What the npm scripts do: `NODE_EXTRA_CA_CERTS=$(tsx tools/local/localPki.ts)`, run as the user would, with their variable set.
      const bundle = writeTrustBundle(local, corporate.caCertPath);
      expect(readFileSync(bundle, 'utf8')).toContain(readFileSync(corporate.caCertPath, 'utf8').trim());
      expect(await probeWith(bundle)).toBe(`${corp} ok\n${loc} ok\n`);
      // A bundle handed on to a child script is used as it is, not nested.
      expect(writeTrustBundle(local, bundle)).toBe(bundle);
    } finally {
      for (const s of servers) s.close();
    }
  });

  it('the npm scripts\' helper prints a bundle that includes the user\'s file', async () => {
    const user = pkiPaths(join(dir, 'corporate')).caCertPath;
    const out = execFileSync('sh', ['-c', 'NODE_EXTRA_CA_CERTS="$USER_CA" npx tsx tools/local/localPki.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, USER_CA: user },
      encoding: 'utf8',
    }).trim();
    const text = readFileSync(out, 'utf8');
    expect(text).toContain(readFileSync(user, 'utf8').trim());
    expect(text).toContain(readFileSync(pkiPaths().caCertPath, 'utf8').trim());
  });
});

describe('ops against a host whose certificate it does not trust', () => {
  let sim: SimTenant;
  const tenantId = randomUUID();
  const clientId = randomUUID();
  const env = (): Record<string, string> => ({
    O365_TENANTS: JSON.stringify([{ tenantId, clientId, credential: { type: 'secret', secretName: 'OPS_SECRET' } }]),
    OPS_SECRET: 's',
    O365_MANAGEMENT_ENDPOINT: sim.url,
    O365_AUTHORITY_HOST: sim.url,
    AzureWebJobsStorage: inject('azuriteConnectionString'),
  });
  beforeAll(async () => {
    sim = await startSimTenant({ tenants: [{ tenantId, apps: [{ clientId, secret: 's' }], contentTypes: ['Audit.Exchange'] }] });
    // The tables, as a deployment has them, so the CLI gets as far as the API whichever test files ran before.
    // (No event is sent: the hub settings only complete the configuration.)
    const wiring = createWiring(loadConfig({ ...env(), EVENTHUB_NAME: 'unused', EVENTHUB_CONNECTION__fullyQualifiedNamespace: 'unused.servicebus.windows.net' }));
    await wiring.ensureResources();
    await wiring.close();
  });
  afterAll(() => sim.close());

  it('reports a TLS trust failure with the host, not "Unauthorized", and prints no [object Object]', async () => {
    // As `npm run ops` runs it: no NODE_EXTRA_CA_CERTS of ours, so the stand-in's certificate is not trusted.
    const result = await run('tools/cli/ops.ts', ['backfill', '--tenant', tenantId, '--content-type', 'Audit.Exchange', '--from', new Date(Date.now() - 3_600_000).toISOString()], env());
    const host = new URL(sim.url).host;
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(`TLS: the certificate of ${host} is not trusted`);
    expect(result.stderr).not.toContain('[object Object]');
  });
});
