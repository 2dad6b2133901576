import { readFileSync } from 'node:fs';
import { normalizeRecord, type NormalizeContext, type NormalizedEvent } from '../../../../shared/core/normalize/index.js';

/** The tenant of every record in test/fixtures/records (contoso). */
export const TENANT = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';

export const context: NormalizeContext = {
  source: 'O365ManagementActivity',
  tenantId: TENANT,
  contentType: 'Audit.General',
  contentId: '20240609010000000000001$20240609010000000000001$audit_general$Audit_General$emea0011',
  contentCreated: '2024-06-09T01:00:00.000Z',
  processedTime: '2024-06-09T01:05:00.123Z',
};

/** The records of one fixture file as [source line, parsed record]. */
export function fixtureLines(file: string): { text: string; record: Record<string, unknown> }[] {
  return readFileSync(new URL(`../../../fixtures/records/${file}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((text) => ({ text, record: JSON.parse(text) as Record<string, unknown> }));
}

/** Normalizes the fixture record with the given Id (its source line as rawText, as the pipeline does). */
export function normalizeFixture(file: string, id: string): NormalizedEvent {
  const line = fixtureLines(file).find(({ record }) => record.Id === id);
  if (!line) throw new Error(`no record ${id} in ${file}`);
  return normalizeRecord(line.record, context, { rawText: line.text });
}
