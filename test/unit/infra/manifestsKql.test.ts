import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const kql = readFileSync('infra/sentinel/manifests.kql', 'utf8');
const bicep = readFileSync('infra/modules/sentinel.bicep', 'utf8');
const declared = new Set([...bicep.matchAll(/\{ name: '(\w+)', type: '\w+' \}/g)].map((m) => m[1]!));
const query = kql.replace(/\/\/.*$/gm, '');

describe('infra/sentinel/manifests.kql', () => {
  it('reads only columns the table declares, expects DistinctEventIds (EventCount for manifests without it) and names the manifest events', () => {
    expect(declared.has('EventCount')).toBe(true);
    const columns = ['TimeGenerated', 'EnvelopeSchema', 'EventSchema', 'EventCount', 'DistinctEventIds', 'OrganizationId', 'SourceContentId', 'SourceContentType', 'SourceContentCreated', 'EventId'];
    for (const column of columns) {
      expect(query).toMatch(new RegExp(`\\b${column}\\b`));
      expect(declared, column).toContain(column);
    }
    // Capitalized identifiers the query uses are declared columns, its own let/extend names, or functions.
    const own = new Set(['M365AuditNormalized_CL', 'Expected', 'Arrived', 'Short', 'ManifestTime']);
    for (const [, name] of query.replace(/'[^']*'/g, "''").matchAll(/\b([A-Z]\w+)\b/g)) expect(declared.has(name!) || own.has(name!), name).toBe(true);
    expect(query).toMatch(/coalesce\(DistinctEventIds, EventCount\)/);
    expect(query).toMatch(/EventSchema == 'BlobManifest'/);
    expect(query).toMatch(/where Arrived < Expected/);
  });
});
