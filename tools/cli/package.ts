/**
 * `npm run package`: the deployment package of the function app, built locally.
 *
 *   .package/app/                      the app as it runs in Azure (what `azd deploy` uploads, azure.yaml `dist`)
 *   .package/m365-audit-ingest.zip     the same as a zip (for zip deploy)
 *
 * It holds the compiled app (`dist/functions`, `dist/shared`, without source maps), host.json, a
 * package.json without scripts or devDependencies, and the production dependencies only, taken from
 * the installed node_modules as package-lock.json lists them (nothing is downloaded). TypeScript
 * sources, type declarations, tests, tools, infra, docs, `.local/` (events a local run received) and
 * test keys never go in. Run `npm run build` first (the npm script does).
 *
 *   npm run package [-- --out <dir>] [--quiet]
 */
import { createWriteStream, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import yazl from 'yazl';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ZIP_NAME = 'm365-audit-ingest.zip';

const HELP = `npm run package [-- --out <dir>] [--quiet]

Builds the function app's deployment package from the compiled app (npm run build, which the npm script
runs first) and the production dependencies in node_modules:
  <out>/app/                   the app folder (azure.yaml deploys it with azd)
  <out>/${ZIP_NAME}   the same as a zip, for zip deploy
--out defaults to .package. Prints the zip's size. Exit codes: 0 done, 1 failed, 2 usage.`;

interface LockPackage {
  readonly dev?: boolean;
  readonly devOptional?: boolean;
  readonly link?: boolean;
}

/** Paths (relative to the root) of every production dependency folder the lockfile lists. */
export function productionPackages(root = ROOT): string[] {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> };
  return Object.entries(lock.packages)
    .filter(([path, p]) => path.startsWith('node_modules/') && !p.dev && !p.devOptional && !p.link)
    .map(([path]) => path)
    .filter((path) => existsSync(join(root, path)))
    .sort();
}

/** What never goes into the package, even inside a dependency: sources, declarations, maps, nested dev folders. */
function excluded(file: string): boolean {
  return /\.(ts|mts|cts|map|tsbuildinfo)$/.test(file) || /(^|\/)(\.local|\.git|\.github|\.vscode|test\/certs)(\/|$)/.test(file);
}

function copyTree(from: string, to: string, skipNodeModules: boolean): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (skipNodeModules && entry.name === 'node_modules') continue;
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (excluded(relative(ROOT, source).split(sep).join('/'))) continue;
    if (entry.isDirectory()) copyTree(source, target, false);
    else if (entry.isFile()) {
      mkdirSync(dirname(target), { recursive: true });
      cpSync(source, target);
    }
  }
}

export async function buildPackage(out = join(ROOT, '.package')): Promise<{ appDir: string; zipPath: string; files: number; zipBytes: number; appBytes: number }> {
  const dist = join(ROOT, 'dist');
  if (!existsSync(join(dist, 'functions'))) throw new Error('dist/functions is missing: run npm run build first');
  const appDir = join(out, 'app');
  rmSync(appDir, { recursive: true, force: true });
  mkdirSync(appDir, { recursive: true });

  for (const part of ['functions', 'shared']) copyTree(join(dist, part), join(appDir, 'dist', part), true);
  cpSync(join(ROOT, 'host.json'), join(appDir, 'host.json'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  const { name, version, description, license, private: isPrivate, type, main, engines, dependencies } = pkg;
  writeFileSync(join(appDir, 'package.json'), `${JSON.stringify({ name, version, description, license, private: isPrivate, type, main, engines, dependencies }, null, 2)}\n`);
  // The staged folder is deployed as it is: nothing in it is to be left out, and no remote build runs.
  writeFileSync(join(appDir, '.funcignore'), '# The staged deployment package: deployed as it is (npm run package built it).\n.funcignore\n');
  for (const path of productionPackages()) copyTree(join(ROOT, path), join(appDir, path), true);

  const zipPath = join(out, ZIP_NAME);
  rmSync(zipPath, { force: true });
  const files = listFiles(appDir);
  await new Promise<void>((resolvePromise, reject) => {
    const zip = new yazl.ZipFile();
    // A fixed timestamp: the same inputs give the same zip.
    const mtime = new Date('2020-01-01T00:00:00Z');
    for (const file of files) zip.addFile(join(appDir, file), file, { mtime, mode: 0o100644 });
    zip.end();
    zip.outputStream.pipe(createWriteStream(zipPath)).on('close', resolvePromise).on('error', reject);
  });
  const appBytes = files.reduce((sum, f) => sum + statSync(join(appDir, f)).size, 0);
  return { appDir, zipPath, files: files.length, zipBytes: statSync(zipPath).size, appBytes };
}

function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(dir, rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let args;
  try {
    args = parseArgs({ options: { out: { type: 'string' }, quiet: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${HELP}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const mb = (n: number) => `${(n / 1_048_576).toFixed(1)} MB`;
  buildPackage(args.out ? resolve(args.out) : undefined)
    .then((r) => {
      if (!args.quiet) process.stdout.write(`package      ${relative(process.cwd(), r.zipPath)}: ${mb(r.zipBytes)} zipped, ${mb(r.appBytes)} unpacked, ${r.files} files (app folder ${relative(process.cwd(), r.appDir)})\n`);
    })
    .catch((err: unknown) => {
      process.stderr.write(`package failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
