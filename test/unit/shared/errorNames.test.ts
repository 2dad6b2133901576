import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Every module under shared/ (wiring.ts reads no settings on import; nothing here opens a connection). */
const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return modules(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** An instance of an Error subclass whatever its constructor wants: no arguments, a code and a message, a list of problems. */
function instanceOf(error: new (...args: never[]) => Error): Error {
  const attempts: unknown[][] = [[], ['ServiceUnavailable', 'message'], ['message'], ['https://example.test', 1], [['a problem']]];
  for (const args of attempts) {
    try {
      return Reflect.construct(error, args) as Error;
    } catch {
      // try the next argument list
    }
  }
  throw new Error(`could not construct ${error.name}`);
}

describe('error classes', () => {
  it('every Error subclass exported from shared/ names itself (err.name is the class name)', async () => {
    const classes: { where: string; error: new (...args: never[]) => Error }[] = [];
    for (const file of modules(SHARED)) {
      const exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      for (const value of Object.values(exports)) {
        if (typeof value === 'function' && value.prototype instanceof Error) classes.push({ where: relative(SHARED, file), error: value as new (...args: never[]) => Error });
      }
    }
    expect(classes.length).toBeGreaterThan(5);
    const wrong = classes.map(({ where, error }) => ({ where, className: error.name, name: instanceOf(error).name })).filter((c) => c.name !== c.className);
    expect(wrong).toEqual([]);
  });
});
