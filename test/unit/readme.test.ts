import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../shared/config.js';
import { renderSettingsTable, withRenderedTable } from '../../tools/cli/settingsTable.js';

describe('README', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

  it('documents every app setting of the configuration contract', () => {
    const missing = SETTINGS.filter((s) => !readme.includes(`| \`${s.name}\` |`)).map((s) => s.name);
    expect(missing).toEqual([]);
  });

  it('shows the settings table rendered from SETTINGS (npm run docs:settings rewrites it)', () => {
    expect(readme).toContain(renderSettingsTable());
    expect(withRenderedTable(readme)).toBe(readme);
  });

  it('shows the newcomer commands', () => {
    for (const command of ['npm ci', 'npm test', 'npm run local']) expect(readme).toContain(command);
  });
});
