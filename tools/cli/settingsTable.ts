/**
 * The README's settings table, rendered from SETTINGS (shared/config.ts), the one list of the settings the
 * code reads. The table sits between the two marker comments in README.md.
 *
 *   npm run docs:settings            rewrite the table in README.md
 *   npm run docs:settings -- --check exit 1 when README.md's table is not the rendered one
 *
 * test/unit/readme.test.ts checks the same, so an edited SETTINGS row fails the tests until this runs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SETTINGS, type SettingSpec } from '../../shared/config.js';

export const TABLE_START = '<!-- settings table: rendered from SETTINGS in shared/config.ts by `npm run docs:settings`; edit there -->';
export const TABLE_END = '<!-- end of settings table -->';

/** The Markdown table: setting, required, default, meaning. */
export function renderSettingsTable(settings: readonly SettingSpec[] = SETTINGS): string {
  const rows = settings.map((s) => {
    const required = s.requiredText ?? (s.required ? 'yes' : 'no');
    const defaultText = s.defaultText ?? (s.default === undefined ? '—' : `\`${s.default}\``);
    const aliases = s.aliases?.length ? `; also read as ${s.aliases.map((a) => `\`${a}\``).join(', ')}` : '';
    return `| \`${s.name}\` | ${required} | ${defaultText} | ${s.description}${aliases} |`;
  });
  return ['| setting | required | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** The README with its settings table replaced by the rendered one. */
export function withRenderedTable(readme: string, table = renderSettingsTable()): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md: the settings table's markers are missing (${TABLE_START} ... ${TABLE_END})`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
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
