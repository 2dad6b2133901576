/**
 * The README's settings table, rendered from SETTINGS (shared/config.ts), the one list of the settings the
 * code reads. The table sits in README.md between `<!-- settings:start -->` and `<!-- settings:end -->`.
 *
 *   npm run docs:settings            rewrite the table in README.md
 *   npm run docs:settings -- --check exit 1 when README.md's table is not the rendered one
 *
 * test/unit/readme.test.ts checks the same, so an edited SETTINGS row fails the tests until this runs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SETTINGS } from '../../shared/config.js';
import { markdownTable, replaceBlock } from '../common/stats.js';

/** The Markdown table: setting, required, default, meaning. */
export function renderSettingsTable(): string {
  return markdownTable(
    ['setting', 'required', 'default', 'meaning'],
    SETTINGS.map((s) => [
      `\`${s.name}\``,
      s.requiredText ?? (s.required ? 'yes' : 'no'),
      s.defaultText ?? (s.default === undefined ? '—' : `\`${s.default}\``),
      `${s.description}${s.aliases?.length ? `; also read as ${s.aliases.map((a) => `\`${a}\``).join(', ')}` : ''}`,
    ]),
  );
}

/** The README with its settings table (the `settings` block) replaced by the rendered one. */
export function withRenderedTable(readme: string): string {
  return replaceBlock(readme, 'settings', renderSettingsTable());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = fileURLToPath(new URL('../../README.md', import.meta.url));
  const readme = readFileSync(path, 'utf8');
  const rendered = withRenderedTable(readme);
  if (process.argv.includes('--check')) {
    if (rendered !== readme) {
      process.stderr.write('README.md: the settings table differs from SETTINGS; run npm run docs:settings\n');
      process.exit(1);
    }
  } else if (rendered !== readme) {
    writeFileSync(path, rendered);
    process.stdout.write('README.md: settings table rewritten\n');
  }
}
