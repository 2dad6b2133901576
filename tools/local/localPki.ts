/**
 * The local stand-ins' TLS material (the simulated tenant, the Key Vault and Entra fakes, the Event Hubs
 * broker's TLS listener, Azurite in OAuth mode), generated on this machine at first use under
 * `.local/pki/` and never committed.
 *
 * - `ca.pem`: a CA made only to sign `server.pem`. Its private key exists in memory for the few
 *   milliseconds of generation and is then thrown away, so nobody (not even this machine) can issue
 *   another certificate under it.
 * - `server.pem` / `server.key`: the stand-ins' server certificate for `localhost`, `127.0.0.1`, `::1`.
 *
 * Only the processes that talk to stand-ins trust `ca.pem` (the test runner, `npm run local`, `bench`,
 * `soak`, `sim`), through a bundle that appends it to whatever the user's own `NODE_EXTRA_CA_CERTS`
 * already names (a corporate CA keeps working). `npm run ops` trusts nothing extra.
 *
 * As a command (`tsx tools/local/localPki.ts`), it makes sure the material exists and prints the path
 * of that trust bundle, for `NODE_EXTRA_CA_CERTS=$(...)` in the npm scripts.
 */
import { createHash, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_PKI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../.local/pki');

export interface LocalPki {
  readonly dir: string;
  readonly caCertPath: string;
  readonly serverCertPath: string;
  readonly serverKeyPath: string;
}

export interface ServerTls {
  readonly cert: Buffer;
  readonly key: Buffer;
}

const VALID_DAYS = 365;
// Regenerate a little before expiry, so a long soak run never meets an expired certificate.
const RENEW_BEFORE_MS = 14 * 86_400_000;

export function pkiPaths(dir = DEFAULT_PKI_DIR): LocalPki {
  return { dir, caCertPath: join(dir, 'ca.pem'), serverCertPath: join(dir, 'server.pem'), serverKeyPath: join(dir, 'server.key') };
}

/** The generated material, made now if it is missing, unreadable or about to expire. */
export async function ensureLocalPki(dir = DEFAULT_PKI_DIR): Promise<LocalPki> {
  const paths = pkiPaths(dir);
  if (isUsable(paths)) return paths;
  // Concurrent first runs (the test runner and a tool): one generates, the others wait for it.
  mkdirSync(paths.dir, { recursive: true });
  const lock = join(paths.dir, '.generating');
  for (const started = Date.now(); ; ) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      if (isUsable(paths)) return paths;
      if (Date.now() - started > 30_000) rmSync(lock, { force: true }); // left by a process that died
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    if (!isUsable(paths)) await generate(paths);
  } finally {
    rmSync(lock, { force: true });
  }
  return paths;
}

/** The stand-ins' server certificate and key (synchronous: stand-ins read it when they start). */
export function localServerTls(dir = DEFAULT_PKI_DIR): ServerTls {
  const paths = pkiPaths(dir);
  if (!existsSync(paths.serverCertPath) || !existsSync(paths.serverKeyPath)) {
    throw new Error(
      `The local stand-ins' certificate is missing (${paths.serverCertPath}). Run through npm (npm test, npm run local, ...), ` +
        'which generates it, or run: npx tsx tools/local/localPki.ts',
    );
  }
  return { cert: readFileSync(paths.serverCertPath), key: readFileSync(paths.serverKeyPath) };
}

/** The local CA certificate (PEM), for a client that trusts it per connection instead of process-wide. */
export function localCaPem(dir = DEFAULT_PKI_DIR): string {
  return readFileSync(pkiPaths(dir).caCertPath, 'utf8');
}

/**
 * Writes (once per distinct content) a PEM bundle of the user's own extra CAs followed by the local CA,
 * and returns its path. The user's file is appended to, never replaced; a file that cannot be read is
 * reported on stderr and left out, as Node itself would ignore it.
 */
export function writeTrustBundle(pki: LocalPki, userExtraCaCerts: string | undefined = process.env.NODE_EXTRA_CA_CERTS): string {
  const parts: string[] = [];
  const user = userExtraCaCerts?.trim();
  if (user && resolve(user) !== resolve(pki.caCertPath) && !resolve(user).startsWith(resolve(pki.dir, 'trust-'))) {
    try {
      parts.push(readFileSync(user, 'utf8').trim());
    } catch (err) {
      process.stderr.write(`warning: NODE_EXTRA_CA_CERTS names ${user}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); it is left out\n`);
    }
  } else if (user && resolve(user).startsWith(resolve(pki.dir, 'trust-'))) {
    // Already a bundle of ours (a script started from another): it holds the user's CAs and the local CA.
    return resolve(user);
  }
  parts.push(readFileSync(pki.caCertPath, 'utf8').trim());
  const content = `${parts.join('\n')}\n`;
  const path = join(pki.dir, `trust-${createHash('sha256').update(content).digest('hex').slice(0, 12)}.pem`);
  if (!existsSync(path)) writeAtomically(path, content);
  return path;
}

function isUsable(paths: LocalPki): boolean {
  try {
    const ca = new X509Certificate(readFileSync(paths.caCertPath));
    const server = new X509Certificate(readFileSync(paths.serverCertPath));
    readFileSync(paths.serverKeyPath);
    return server.verify(ca.publicKey) && Date.parse(server.validTo) - Date.now() > RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}

async function generate(paths: LocalPki): Promise<void> {
  // Loaded only to generate: @peculiar/x509 needs the reflect-metadata polyfill, which patches the global Reflect.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const subtle = webcrypto.subtle;
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + VALID_DAYS * 86_400_000);
  const serial = () => randomBytes(16).toString('hex').replace(/^[89a-f]/, '1');

  const caKeys = (await subtle.generateKey(algorithm, false, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=m365-audit-ingest local stand-ins CA (generated on this machine; its key was discarded)',
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const serverKeys = (await subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=localhost',
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
    ],
  });
  const serverKey = x509.PemConverter.encode(await subtle.exportKey('pkcs8', serverKeys.privateKey), 'PRIVATE KEY');

  const serverPem = server.toString('pem');
  writeAtomically(paths.serverKeyPath, serverKey, 0o600);
  writeAtomically(paths.serverCertPath, serverPem);
  writeAtomically(paths.caCertPath, ca.toString('pem'));
}

function writeAtomically(path: string, content: string, mode = 0o644): void {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temp, content, { mode });
  renameSync(temp, path);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write('tsx tools/local/localPki.ts\n\nMakes sure the local stand-ins\' CA and server certificate exist under .local/pki (generating them on\nfirst use) and prints the path of a PEM bundle: the file NODE_EXTRA_CA_CERTS named, then that CA.\n');
    process.exit(0);
  }
  ensureLocalPki()
    .then((pki) => process.stdout.write(`${writeTrustBundle(pki)}\n`))
    .catch((err: unknown) => {
      process.stderr.write(`could not generate the local stand-ins' certificates: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
