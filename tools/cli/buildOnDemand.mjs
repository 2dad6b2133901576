// A TypeScript entry point of tools/, compiled to JavaScript on demand, so a tool starts without tsx
// (whose loader costs about 0.7 s of CPU and 45 MiB of memory at every start).
//
// The TypeScript compiler (a devDependency) transpiles the entry point and every module it imports by a
// relative path, file by file (`transpileModule`: no type check, `npm run typecheck` does that), into
// node_modules/.cache/m365-audit-ingest/<checkout>-<entry>/, <checkout> naming this checkout (git worktrees
// may share one node_modules, and one must never run another's build). Packages are imported from the project's
// node_modules as usual. A manifest there lists the sources and when they were built; a start that finds
// none of them changed costs a stat per source file. Plain JavaScript on purpose: this is what runs
// before anything is compiled.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CACHE_ROOT = join(ROOT, 'node_modules', '.cache', 'm365-audit-ingest');
const CHECKOUT = createHash('sha256').update(ROOT).digest('hex').slice(0, 8);

/** The compiled JavaScript of `entry` (a .ts path from the repository root), built first if it is stale. */
export async function compiledEntry(entry) {
  const cache = join(CACHE_ROOT, `${CHECKOUT}-${entry.replace(/\.ts$/, '').replace(/[^A-Za-z0-9]+/g, '-')}`);
  const manifestFile = join(cache, 'manifest.json');
  const current = currentBuild(cache, manifestFile);
  const dir = current ?? (await build(entry, cache, manifestFile));
  return join(dir, entry.replace(/\.ts$/, '.js'));
}

/** The manifest's build directory if it was built from the sources as they are now. */
function currentBuild(cache, manifestFile) {
  try {
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    for (const source of manifest.sources) if (statSync(join(ROOT, source)).mtimeMs > manifest.builtFrom) return undefined;
    statSync(join(cache, manifest.dir, manifest.entry));
    return join(cache, manifest.dir);
  } catch {
    return undefined;
  }
}

/** Transpiles the entry point and its relative imports; returns the new build directory. */
async function build(entry, cache, manifestFile) {
  const { default: ts } = await import('typescript');
  const startedAt = Date.now();
  const dir = `build-${process.pid}-${startedAt}`;
  const out = join(cache, dir);
  // ES modules whatever the file's package scope (NodeNext would guess CommonJS here, inside node_modules).
  const compilerOptions = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, sourceMap: false };
  // This file too: a change to how the build is made builds again.
  const sources = [relative(ROOT, fileURLToPath(import.meta.url))];
  const pending = [join(ROOT, entry)];
  const seen = new Set(pending);
  while (pending.length > 0) {
    const file = pending.pop();
    const text = readFileSync(file, 'utf8');
    sources.push(relative(ROOT, file));
    for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const imported = resolve(dirname(file), fileName.replace(/\.js$/, '.ts'));
      if (!seen.has(imported)) {
        seen.add(imported);
        pending.push(imported);
      }
    }
    const { outputText, diagnostics } = ts.transpileModule(text, { compilerOptions, fileName: file, reportDiagnostics: true });
    if (diagnostics?.length) throw new Error(`cannot compile ${relative(ROOT, file)}: ${ts.flattenDiagnosticMessageText(diagnostics[0].messageText, '\n')}`);
    const target = join(out, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  // Inside node_modules, Node would otherwise take the compiled files for CommonJS.
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
  let previous;
  try {
    previous = JSON.parse(readFileSync(manifestFile, 'utf8')).dir;
  } catch {
    previous = undefined;
  }
  // Sources read before startedAt are what was built; one changed since then is newer and builds again.
  const manifest = { dir, entry: entry.replace(/\.ts$/, '.js'), builtFrom: startedAt - 1, sources: sources.sort() };
  writeFileSync(`${manifestFile}.${process.pid}`, `${JSON.stringify(manifest)}\n`);
  renameSync(`${manifestFile}.${process.pid}`, manifestFile);
  if (previous && previous !== dir) rmSync(join(cache, previous), { recursive: true, force: true });
  return out;
}
