import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContentListing, ContentType, SimTenant } from '../../../tools/standins/simTenant/index.js';
import { DAY, HOUR, T0, TENANT, afError, feedClient, manualClock, startSim, tenantSpec, tokenFor, type FeedClient } from './helpers.js';

type Rec = Record<string, unknown>;

let sim: SimTenant;
let client: FeedClient;
const clock = manualClock();

beforeAll(async () => {
  sim = await startSim({ now: clock.now });
  client = feedClient(sim, await tokenFor(sim));
});
afterAll(() => sim.close());

describe('blob retrieval', () => {
  it('AF20022 before the stream is subscribed', async () => {
    const [entry] = sim.blobs(TENANT, 'Audit.SharePoint', T0 - 6 * HOUR, T0);
    expect(await afError(await client.fetchUrl(entry!.contentUri))).toMatchObject({ status: 400, code: 'AF20022' });
  });

  it('serves the records of a listed blob as JSON, exactly as recordsOf says, also with PublisherIdentifier and %24', async () => {
    await client.start('Audit.Exchange');
    const [entry] = (await (await client.content('contentType=Audit.Exchange')).json()) as ContentListing[];
    const res = await client.fetchUrl(`${entry!.contentUri}?PublisherIdentifier=${TENANT}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const records = await res.json();
    expect(records).toEqual(sim.recordsOf(TENANT, entry!.contentId));
    expect(sim.stats().servedBlobIds).toContain(entry!.contentId);

    const encoded = await client.fetchUrl(entry!.contentUri.replaceAll('$', '%24'));
    expect(await encoded.json()).toEqual(records);
  });

  it('answers AF20050 for an unknown id, AF20052 for a malformed one', async () => {
    await client.start('Audit.Exchange');
    const [entry] = sim.blobs(TENANT, 'Audit.Exchange', T0 - 6 * HOUR, T0);
    const unknown = entry!.contentId.replace(/\$[a-z]+\d{4}$/, '$na9999');
    const missing = await afError(await client.get(`audit/${unknown}`));
    expect(missing).toEqual({ status: 404, code: 'AF20050', message: `The specified content (${unknown}) does not exist.` });
    expect(await afError(await client.get('audit/not%20a%20content%20id!'))).toMatchObject({ status: 400, code: 'AF20052' });
  });

  it('answers AF20051 (400) once a blob has expired', async () => {
    await client.start('Audit.General');
    const [entry] = sim.blobs(TENANT, 'Audit.General', T0 - 6 * HOUR, T0);
    clock.value = Date.parse(entry!.contentExpiration);
    try {
      const err = await afError(await client.fetchUrl(entry!.contentUri));
      expect(err).toEqual({
        status: 400,
        code: 'AF20051',
        message: `Content requested with the key ${entry!.contentId} has already expired. Content older than 7 days cannot be retrieved.`,
      });
    } finally {
      clock.value = T0;
    }
  });

  it('serves added blobs: explicit records, a raw (malformed) body verbatim, a given content id', async () => {
    await client.start('DLP.All');
    const records = [{ Id: 'fixed-1', RecordType: 11 }, { Id: 'fixed-2', RecordType: 13 }];
    const explicit = sim.addBlob(TENANT, 'DLP.All', { contentCreated: T0 - HOUR, records });
    expect(await (await client.fetchUrl(explicit.contentUri)).json()).toEqual(records);

    const raw = sim.addBlob(TENANT, 'DLP.All', { contentCreated: T0 - HOUR, rawBody: '[{"Id":"broken",' });
    const res = await client.fetchUrl(raw.contentUri);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('[{"Id":"broken",');

    const named = sim.addBlob(TENANT, 'DLP.All', { contentCreated: T0 - HOUR, contentId: 'custom$id$dlp_all$DLP_All$sim0001', recordCount: 3 });
    expect(named.contentUri).toBe(`${client.root}/audit/custom$id$dlp_all$DLP_All$sim0001`);
    expect(((await (await client.fetchUrl(named.contentUri)).json()) as unknown[]).length).toBe(3);
  });

  it('streams a 20 MB blob in chunks (no Content-Length) that arrives whole and parses', async () => {
    await client.start('Audit.Exchange');
    const big = sim.addBlob(TENANT, 'Audit.Exchange', { contentCreated: T0 - 2 * HOUR, recordCount: 12_000 });
    const res = await client.fetchUrl(big.contentUri);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBeNull();
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    const text = await res.text();
    expect(Buffer.byteLength(text)).toBeGreaterThan(20_000_000);
    const records = JSON.parse(text) as Rec[];
    expect(records.length).toBe(12_000);
    const expected = sim.recordsOf(TENANT, big.contentId) as Rec[];
    const digest = (rs: Rec[]) => createHash('sha256').update(rs.map((r) => r.Id).join()).digest('hex');
    expect(digest(records)).toBe(digest(expected));
    expect(records[11_999]).toEqual(expected[11_999]);
  });
});

describe('generated records', () => {
  const all = new Map<ContentType, { entry: ContentListing; records: Rec[] }[]>();
  let generated: SimTenant;
  beforeAll(async () => {
    generated = await startSim({ now: () => T0, tenants: [tenantSpec()] });
    for (const ct of ['Audit.AzureActiveDirectory', 'Audit.Exchange', 'Audit.SharePoint', 'Audit.General', 'DLP.All'] as const) {
      all.set(ct, generated.blobs(TENANT, ct, T0 - 2 * DAY, T0).map((entry) => ({ entry, records: generated.recordsOf(TENANT, entry.contentId) as Rec[] })));
    }
  });
  afterAll(() => generated.close());
  const recordsOf = (ct: ContentType) => all.get(ct)!.flatMap((b) => b.records);
  const byType = (ct: ContentType, recordType: number) => recordsOf(ct).filter((r) => Number(r.RecordType) === recordType);
  const everything = () => [...all.keys()].flatMap(recordsOf);

  it('carry the common schema with a zone-less CreationTime minutes to days before contentCreated', () => {
    const lags: number[] = [];
    for (const blobs of all.values()) {
      for (const { entry, records } of blobs) {
        expect(records.length).toBeGreaterThan(0);
        for (const r of records) {
          expect(r.Id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
          expect(r.CreationTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
          expect(r.OrganizationId).toBe(TENANT);
          expect(typeof r.Operation).toBe('string');
          expect(typeof r.Workload).toBe('string');
          expect(typeof r.UserId).toBe('string');
          expect(r).toHaveProperty('UserKey');
          const lag = Date.parse(entry.contentCreated) - Date.parse(`${r.CreationTime as string}Z`);
          expect(lag).toBeGreaterThan(0);
          lags.push(lag);
        }
      }
    }
    expect(Math.min(...lags)).toBeLessThan(HOUR);
    expect(Math.max(...lags)).toBeGreaterThan(DAY);
  });

  it('sometimes carry events older than those of an earlier blob', () => {
    const blobs = all.get('Audit.Exchange')!;
    const newest = (rs: Rec[]) => Math.max(...rs.map((r) => Date.parse(`${r.CreationTime as string}Z`)));
    const oldest = (rs: Rec[]) => Math.min(...rs.map((r) => Date.parse(`${r.CreationTime as string}Z`)));
    const outOfOrder = blobs.slice(1).filter((b, i) => oldest(b.records) < newest(blobs[i]!.records));
    expect(outOfOrder.length).toBeGreaterThan(0);
  });

  it('Entra ID: STS logons (with failures) and directory audits with Actor/Target arrays', () => {
    const logons = byType('Audit.AzureActiveDirectory', 15);
    const audits = byType('Audit.AzureActiveDirectory', 8);
    expect(byType('Audit.AzureActiveDirectory', 9).length).toBeGreaterThan(0);
    expect(logons.some((r) => r.Operation === 'UserLoggedIn')).toBe(true);
    const failures = logons.filter((r) => r.Operation === 'UserLoginFailed');
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((r) => typeof r.LogonError === 'string' && r.ErrorCode !== '0')).toBe(true);
    for (const r of [...logons, ...audits]) {
      expect(Array.isArray(r.Actor) && Array.isArray(r.Target)).toBe(true);
      expect((r.Actor as { ID: string; Type: number }[]).some((a) => a.Type === 5 && a.ID === r.UserId)).toBe(true);
      expect(r).toHaveProperty('ActorIpAddress');
      expect(r).toHaveProperty('ExtendedProperties');
    }
    expect(audits.every((r) => (r.ModifiedProperties as Rec[]).every((p) => 'Name' in p && 'NewValue' in p && 'OldValue' in p))).toBe(true);
  });

  it('Exchange: admin cmdlets with Parameters and "HOST (a.b.c.d)\\r\\n", mailbox items, MailItemsAccessed', () => {
    const admin = byType('Audit.Exchange', 1);
    expect(admin.length).toBeGreaterThan(0);
    for (const r of admin) {
      expect(r.OriginatingServer).toMatch(/^[A-Z0-9]+ \(\d+\.\d+\.\d+\.\d+\)\r\n$/);
      expect((r.Parameters as Rec[]).every((p) => typeof p.Name === 'string' && typeof p.Value === 'string')).toBe(true);
      expect(['True', 'False']).toContain(r.ResultStatus);
    }
    expect(byType('Audit.Exchange', 2).every((r) => typeof r.Item === 'object' && 'ClientIPAddress' in r)).toBe(true);
    expect(byType('Audit.Exchange', 3).every((r) => Array.isArray(r.AffectedItems))).toBe(true);
    const accessed = byType('Audit.Exchange', 50);
    expect(accessed.length).toBeGreaterThan(0);
    expect(accessed.every((r) => r.Operation === 'MailItemsAccessed' && (r.Folders as { FolderItems: unknown[] }[]).every((f) => f.FolderItems.length > 0))).toBe(true);
  });

  it('SharePoint/OneDrive: file operations whose ObjectId is SiteUrl + folder + file, and sharing operations', () => {
    const files = byType('Audit.SharePoint', 6);
    expect(new Set(files.map((r) => r.Workload))).toEqual(new Set(['SharePoint', 'OneDrive']));
    for (const r of files) expect(r.ObjectId).toBe(`${r.SiteUrl as string}${r.SourceRelativeUrl as string}/${r.SourceFileName as string}`);
    const sharing = byType('Audit.SharePoint', 14);
    expect(sharing.length).toBeGreaterThan(0);
    expect(sharing.every((r) => typeof r.TargetUserOrGroupName === 'string' && typeof r.EventData === 'string')).toBe(true);
    expect(byType('Audit.SharePoint', 4).length).toBeGreaterThan(0);
  });

  it('DLP: SharePoint and Exchange rule matches whose sensitive types resolve via /resources/dlpSensitiveTypes', async () => {
    const known = new Set(((await (await client.get('resources/dlpSensitiveTypes')).json()) as { id: string }[]).map((t) => t.id));
    const sp = byType('DLP.All', 11);
    const exo = byType('DLP.All', 13);
    expect(sp.length).toBeGreaterThan(0);
    expect(exo.length).toBeGreaterThan(0);
    expect(sp.every((r) => typeof r.SharePointMetaData === 'object')).toBe(true);
    expect(exo.every((r) => Array.isArray((r.ExchangeMetaData as Rec).To))).toBe(true);
    const types = [...sp, ...exo].flatMap((r) =>
      (r.PolicyDetails as { Rules: { ConditionsMatched: { SensitiveInformation: { SensitiveType: string }[] } }[] }[]).flatMap((p) =>
        p.Rules.flatMap((rule) => rule.ConditionsMatched.SensitiveInformation.map((s) => s.SensitiveType)),
      ),
    );
    expect(types.length).toBeGreaterThan(0);
    expect(types.every((t) => known.has(t))).toBe(true);
  });

  it('General: Teams, Power BI with stringly OperationProperties, S&C alerts with stringly Data, Viva Engage, Copilot, Defender', () => {
    expect(byType('Audit.General', 25).every((r) => r.Workload === 'MicrosoftTeams' && typeof r.TeamName === 'string')).toBe(true);
    const pbi = byType('Audit.General', 20);
    expect(pbi.length).toBeGreaterThan(0);
    expect(pbi.every((r) => typeof r.OperationProperties === 'string' && Array.isArray(JSON.parse(r.OperationProperties)))).toBe(true);
    const alerts = byType('Audit.General', 40);
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts.every((r) => r.UserId === 'SecurityComplianceAlerts' && typeof JSON.parse(r.Data as string) === 'object')).toBe(true);
    expect(byType('Audit.General', 22).every((r) => r.ResultStatus === 'TRUE' && r.Workload === 'Yammer')).toBe(true);
    expect(byType('Audit.General', 261).every((r) => typeof (r.CopilotEventData as Rec).AppHost === 'string')).toBe(true);
    expect(byType('Audit.General', 28).every((r) => 'SenderIp' in r)).toBe(true);
    expect(byType('Audit.General', 22).length * byType('Audit.General', 261).length * byType('Audit.General', 28).length).toBeGreaterThan(0);
  });

  it('about 1% carry an unknown RecordType and some send numbers as strings', () => {
    const records = everything();
    const unknown = records.filter((r) => [9999, 5000].includes(Number(r.RecordType)));
    expect(unknown.length / records.length).toBeGreaterThan(0.002);
    expect(unknown.length / records.length).toBeLessThan(0.03);
    expect(records.some((r) => typeof r.RecordType === 'string' && /^\d+$/.test(r.RecordType))).toBe(true);
  });

  it('IP fields come in every observed notation', () => {
    const forms = new Set<string>();
    for (const r of everything()) {
      const key = ['ClientIP', 'SenderIp'].find((k) => k in r);
      if (key) forms.add(ipForm(r[key]));
    }
    expect([...forms].filter((f) => f.startsWith('other'))).toEqual([]);
    expect(forms).toEqual(
      new Set(['v4', 'v4:port', '[v4]:port', '[v4]', 'mapped', '[mapped]:port', 'v6', '[v6]', '[v6]:port', '::1', 'localhost', 'host', 'host:port', 'garbage', 'empty', 'null']),
    );
  });

  it('are typically 1–5 KB', () => {
    const sizes = everything()
      .map((r) => JSON.stringify(r).length)
      .sort((a, b) => a - b);
    const median = sizes[Math.floor(sizes.length / 2)]!;
    expect(median).toBeGreaterThanOrEqual(1000);
    expect(median).toBeLessThanOrEqual(5000);
    expect(sizes[sizes.length - 1]).toBeLessThan(10_000);
  });
});

function ipForm(value: unknown): string {
  if (value === null) return 'null';
  if (value === '') return 'empty';
  const s = String(value);
  const v4 = String.raw`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}`;
  const checks: [string, RegExp][] = [
    ['::1', /^::1$/],
    ['localhost', /^localhost$/],
    ['garbage', /^NOTANIPV4 \(/],
    ['host', /^[a-z0-9]+\.corp\.local$/],
    ['host:port', /^[a-z0-9]+\.corp\.local:\d+$/],
    ['v4', new RegExp(`^${v4}$`)],
    ['v4:port', new RegExp(`^${v4}:\\d+$`)],
    ['[v4]:port', new RegExp(`^\\[${v4}\\]:\\d+$`)],
    ['[v4]', new RegExp(`^\\[${v4}\\]$`)],
    ['mapped', new RegExp(`^::ffff:${v4}$`)],
    ['[mapped]:port', new RegExp(`^\\[::ffff:${v4}\\]:\\d+$`)],
    ['v6', /^[0-9a-f]*(:[0-9a-f]*){2,7}$/],
    ['[v6]', /^\[[0-9a-f]*(:[0-9a-f]*){2,7}\]$/],
    ['[v6]:port', /^\[[0-9a-f]*(:[0-9a-f]*){2,7}\]:\d+$/],
  ];
  return checks.find(([, re]) => re.test(s))?.[0] ?? `other ${s}`;
}
