// `npm run normalize`: runs tools/normalize.ts compiled to JavaScript, so a run does not pay for a
// TypeScript transpile (about 0.7 s of CPU through tsx, more than normalizing 10,000 records).
//
// The build is made on first use and again whenever one of its source files changed: the TypeScript
// compiler (a devDependency) transpiles tools/normalize.ts and every module it imports, file by file,
// into node_modules/.cache/m365-audit-ingest/normalize/. A manifest there lists the sources and when
// they were built; a run that finds them unchanged only stats them (a few milliseconds) and imports the
// compiled entry point. Plain JavaScript on purpose: this file is what runs before anything is compiled.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = 'tools/normalize.ts';
const CACHE = join(ROOT, 'node_modules', '.cache', 'm365-audit-ingest', 'normalize');
const MANIFEST = join(CACHE, 'manifest.json');

/** The manifest's build directory if it was built from the sources as they are now. */
function currentBuild() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
  } catch {
    return undefined;
  }
  try {
    for (const source of manifest.sources) if (statSync(join(ROOT, source)).mtimeMs > manifest.builtFrom) return undefined;
    statSync(join(CACHE, manifest.dir, 'tools', 'normalize.js'));
  } catch {
    return undefined;
  }
  return join(CACHE, manifest.dir);
}

/** Transpiles the entry point and its relative imports; returns the new build directory. */
async function build() {
  const { default: ts } = await import('typescript');
  const startedAt = Date.now();
  const dir = `build-${process.pid}-${startedAt}`;
  const out = join(CACHE, dir);
  const options = {
    target: ts.ScriptTarget.ES2022,
    // ES modules whatever the file's package scope (NodeNext would guess CommonJS here).
    module: ts.ModuleKind.ES2022,
    sourceMap: false,
  };
  // This file too: a change to how the build is made builds again.
  const sources = [relative(ROOT, fileURLToPath(import.meta.url))];
  const pending = [join(ROOT, ENTRY)];
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
    const { outputText, diagnostics } = ts.transpileModule(text, { compilerOptions: options, fileName: file, reportDiagnostics: true });
    if (diagnostics?.length) throw new Error(`cannot compile ${relative(ROOT, file)}: ${ts.flattenDiagnosticMessageText(diagnostics[0].messageText, '\n')}`);
    const target = join(out, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  // Outside the project's folders, Node would otherwise take the compiled files for CommonJS.
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
  let previous;
  try {
    previous = JSON.parse(readFileSync(MANIFEST, 'utf8')).dir;
  } catch {
    previous = undefined;
  }
  // Sources read before startedAt are what was built; one changed since then is newer and builds again.
  const manifest = `${JSON.stringify({ dir, builtFrom: startedAt - 1, sources: sources.sort() })}\n`;
  writeFileSync(`${MANIFEST}.${process.pid}`, manifest);
  renameSync(`${MANIFEST}.${process.pid}`, MANIFEST);
  if (previous && previous !== dir) rmSync(join(CACHE, previous), { recursive: true, force: true });
  return out;
}

const buildDir = currentBuild() ?? (await build());
await import(pathToFileURL(join(buildDir, 'tools', 'normalize.js')).href);
