import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { evaluate, evaluateVariable, type BicepValue, type EvalOptions } from '../infra/bicepEval.js';
import { parseBicep, propertyAt, resourceDeclarations, type BicepFile } from '../infra/bicepSyntax.js';
import { compile, describeDiagnostics, type KustoColumn, type KustoFunction, type KustoTable } from './kusto.js';

// CI's KQL check: every KQL text the project ships is compiled with Microsoft's Kusto compiler
// (@kusto/language-service-next) against the schema the Bicep declares: the data collection transforms
// against their input streams, the OfficeActivity view and every query under infra/sentinel against the
// custom table. Any compiler error fails the test. The view's output is checked against the OfficeActivity
// schema recorded in infra/sentinel/officeactivity.schema.json.

// Loading the compiler (31 MB of JavaScript) and analyzing the view take seconds on a loaded machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SENTINEL = 'infra/modules/sentinel.bicep';
const KQL_DIR = 'infra/sentinel';
const TABLE = 'M365AuditNormalized_CL';
const VIEW = 'OfficeActivityCompat';

/** Column types as the tables API spells them, and as Kusto does. */
const KUSTO_TYPES: Readonly<Record<string, string>> = {
  string: 'string',
  int: 'int',
  long: 'long',
  real: 'real',
  boolean: 'bool',
  bool: 'bool',
  dateTime: 'datetime',
  datetime: 'datetime',
  guid: 'guid',
  dynamic: 'dynamic',
};

// Columns Log Analytics adds to every table (and the view passes on, as OfficeActivity has them).
const STANDARD_COLUMNS: readonly KustoColumn[] = [
  { name: 'TenantId', type: 'string' },
  { name: 'Type', type: 'string' },
  { name: '_ResourceId', type: 'string' },
  { name: '_SubscriptionId', type: 'string' },
  { name: '_BilledSize', type: 'real' },
  { name: '_IsBillable', type: 'string' },
];

// Operators and functions a data collection transform may use: row-by-row only (Azure Monitor's list of
// supported KQL in transformations; the ones this project has a use for).
const TRANSFORM_OPERATORS = new Set(['ExtendOperator', 'ProjectOperator', 'FilterOperator', 'ParseOperator', 'ProjectAwayOperator', 'ProjectRenameOperator']);
const TRANSFORM_FUNCTIONS = new Set([
  'parse_json', 'todynamic', 'tostring', 'toint', 'tolong', 'toreal', 'tobool', 'todatetime', 'toguid', 'iff', 'case', 'isnull', 'isnotnull',
  'isempty', 'isnotempty', 'coalesce', 'strcat', 'split', 'extract', 'tolower', 'toupper', 'substring', 'strlen', 'now', 'bag_pack', 'pack',
]);

// Normalized columns the view adds beside OfficeActivity's, for dedupe and joins with ASIM content.
const VIEW_EXTRAS = ['EventId', 'ProcessedTime', 'EventSchema', 'EventType', 'EventResult', 'SrcIpAddr', 'RawTruncated'];

let sentinel: BicepFile;
const options: EvalOptions = { repoRoot };
let tableColumns: KustoColumn[];
let workspaceTable: KustoTable;
let viewQuery: string;
const officeActivity = JSON.parse(readFileSync(path.join(repoRoot, KQL_DIR, 'officeactivity.schema.json'), 'utf8')) as {
  table: string;
  columns: KustoColumn[];
};

function columnsOf(value: BicepValue): KustoColumn[] {
  expect(Array.isArray(value)).toBe(true);
  return (value as { name: string; type: string }[]).map((c) => {
    expect(KUSTO_TYPES, `type ${c.type} of ${c.name}`).toHaveProperty(c.type);
    return { name: c.name, type: KUSTO_TYPES[c.type]! };
  });
}

function ruleWith(stream: 'eventHub' | 'forwarder') {
  const rules = resourceDeclarations(sentinel).filter((r) => r.type === 'Microsoft.Insights/dataCollectionRules');
  const found = rules.filter((r) => (propertyAt(r.body, 'properties.dataSources.dataImports.eventHub') !== undefined) === (stream === 'eventHub'));
  expect(found, `${stream} rule`).toHaveLength(1);
  return found[0]!;
}

/** The rule's one stream declaration and its one data flow, evaluated. */
function streamAndFlow(stream: 'eventHub' | 'forwarder'): { columns: KustoColumn[]; transformKql: string; outputStream: string } {
  const rule = ruleWith(stream);
  const declarations = evaluate(propertyAt(rule.body, 'properties.streamDeclarations')!, sentinel, options) as Record<string, { columns: BicepValue }>;
  expect(Object.keys(declarations)).toHaveLength(1);
  const flows = propertyAt(rule.body, 'properties.dataFlows')!.namedChildren;
  expect(flows).toHaveLength(1);
  const transform = evaluate(propertyAt(flows[0]!, 'transformKql')!, sentinel, options);
  expect(typeof transform).toBe('string');
  const outputStream = propertyAt(flows[0]!, 'outputStream')!.text;
  return { columns: columnsOf(Object.values(declarations)[0]!.columns), transformKql: transform as string, outputStream };
}

/** A .kql file as Log Analytics runs it: blocks separated by blank lines; comment-only blocks are not queries. */
function queryBlocks(text: string): { line: number; query: string }[] {
  const blocks: { line: number; query: string }[] = [];
  let start = 0;
  let current: string[] = [];
  const lines = text.split('\n');
  const flush = () => {
    if (current.some((l) => l.trim() !== '' && !l.trim().startsWith('//'))) blocks.push({ line: start + 1, query: current.join('\n') });
    current = [];
  };
  lines.forEach((line, index) => {
    if (line.trim() === '') flush();
    else {
      if (current.length === 0) start = index;
      current.push(line);
    }
  });
  flush();
  return blocks;
}

beforeAll(async () => {
  sentinel = await parseBicep(SENTINEL, readFileSync(path.join(repoRoot, SENTINEL), 'utf8'));
  tableColumns = [...columnsOf(evaluateVariable(sentinel, 'envelopeColumns', options)), ...columnsOf(evaluateVariable(sentinel, 'deliveryColumns', options))];
  workspaceTable = { name: TABLE, columns: [...tableColumns, ...STANDARD_COLUMNS] };
  viewQuery = evaluateVariable(sentinel, 'officeActivityViewQuery', options) as string;
  compile('print 1', {});
});

describe('the compile check itself', () => {
  it('loads the Kusto compiler and reports an unknown column, an unknown function and a syntax error', () => {
    const table = { name: 'T', columns: [{ name: 'a', type: 'string' }] };
    expect(compile('T | project b = tostring(a)', { tables: [table] }).errors).toEqual([]);
    const unknownColumn = compile('T | where nosuch == 1', { tables: [table] });
    expect(describeDiagnostics(unknownColumn.errors).join('\n')).toMatch(/KS142.*nosuch/);
    expect(compile('T | project x = nosuchfunction(a)', { tables: [table] }).errors).toHaveLength(1);
    expect(compile('T | extend x = (a', { tables: [table] }).errors.length).toBeGreaterThan(0);
  });

  it('fails the view when the table lacks a column it reads', () => {
    const without = { name: TABLE, columns: workspaceTable.columns.filter((c) => c.name !== 'TargetUsername') };
    const compiled = compile(viewQuery, { tables: [without] });
    expect(describeDiagnostics(compiled.errors).join('\n')).toMatch(/TargetUsername/);
  });
});

describe('data collection transforms', () => {
  it('Event Hubs data import: compiles against the fixed input stream and fills every table column with its type', () => {
    const { columns, transformKql, outputStream } = streamAndFlow('eventHub');
    expect(columns).toEqual([
      { name: 'TimeGenerated', type: 'datetime' },
      { name: 'RawData', type: 'string' },
      { name: 'Properties', type: 'dynamic' },
    ]);
    expect(outputStream).toBe("'Custom-${table.name}'");
    const compiled = compile(transformKql, { tables: [{ name: 'source', columns }] });
    expect(describeDiagnostics(compiled.diagnostics)).toEqual([]);
    expect(compiled.columns).toEqual(tableColumns);
    expect(compiled.operators.filter((o) => !TRANSFORM_OPERATORS.has(o))).toEqual([]);
    expect(compiled.functions.filter((f) => !TRANSFORM_FUNCTIONS.has(f))).toEqual([]);
  });

  it('Logs Ingestion: the forwarder stream declares the table columns and the transform passes them on', () => {
    const { columns, transformKql, outputStream } = streamAndFlow('forwarder');
    expect(outputStream).toBe("'Custom-${table.name}'");
    expect(columns).toEqual(tableColumns);
    const compiled = compile(transformKql, { tables: [{ name: 'source', columns }] });
    expect(describeDiagnostics(compiled.diagnostics)).toEqual([]);
    expect(compiled.columns).toEqual(tableColumns);
    expect(compiled.operators.filter((o) => !TRANSFORM_OPERATORS.has(o))).toEqual([]);
  });
});

describe('OfficeActivity view', () => {
  it('is deployed from infra/sentinel/OfficeActivityCompat.kql as a workspace function', () => {
    expect(viewQuery).toBe(readFileSync(path.join(repoRoot, KQL_DIR, `${VIEW}.kql`), 'utf8'));
    const saved = resourceDeclarations(sentinel).filter((r) => r.type === 'Microsoft.OperationalInsights/workspaces/savedSearches');
    expect(saved).toHaveLength(1);
    const properties = evaluate(propertyAt(saved[0]!.body, 'properties')!, sentinel, options) as Record<string, BicepValue>;
    expect(properties).toMatchObject({ functionAlias: VIEW, query: viewQuery });
  });

  it('compiles against the table without errors or warnings', () => {
    const compiled = compile(viewQuery, { tables: [workspaceTable] });
    expect(describeDiagnostics(compiled.diagnostics)).toEqual([]);
  });

  it('yields every OfficeActivity column with its type, plus only the documented normalized extras', () => {
    const compiled = compile(viewQuery, { tables: [workspaceTable] });
    const output = new Map(compiled.columns.map((c) => [c.name, c.type]));
    expect(officeActivity.table).toBe('OfficeActivity');
    expect(officeActivity.columns.length).toBeGreaterThanOrEqual(130);
    const wrong = officeActivity.columns.filter((c) => output.get(c.name) !== c.type).map((c) => `${c.name}: ${c.type} expected, view has ${output.get(c.name) ?? 'none'}`);
    expect(wrong).toEqual([]);
    const expected = new Set(officeActivity.columns.map((c) => c.name));
    expect(compiled.columns.map((c) => c.name).filter((n) => !expected.has(n))).toEqual(VIEW_EXTRAS);
  });

  it('runs queries written for OfficeActivity unchanged when the function is named OfficeActivity', () => {
    // Queries in the style of Microsoft's Microsoft 365 analytics rules and hunting queries.
    const queries = [
      `OfficeActivity
| where RecordType =~ "ExchangeAdmin" and UserType in~ ("Admin", "DcAdmin")
| where Operation =~ "Set-AdminAuditLogConfig"
| extend Enabled = tostring(parse_json(tostring(parse_json(tostring(array_slice(parse_json(Parameters), 3, 3)))[0])).Value)
| summarize StartTime = min(TimeGenerated), EndTime = max(TimeGenerated), Count = count() by Operation, UserId, ClientIP, Enabled`,
      `OfficeActivity
| where OfficeWorkload =~ "MicrosoftTeams" and Operation =~ "AppInstalled" and AddOnType == "3"
| project TimeGenerated, UserId, AddonName, AddOnGuid, AzureADAppId, TeamName`,
      `OfficeActivity
| where OfficeWorkload =~ "MicrosoftTeams" and Operation in ("MemberAdded", "MemberRemoved")
| mv-expand Member = Members
| extend UPN = tostring(Member.UPN), Role = toint(Member.Role)
| summarize make_set(UPN) by TeamName, ChannelName, UserId, bin(TimeGenerated, 1h)`,
      `OfficeActivity
| where EventSource == "SharePoint" and OfficeWorkload has_any ("SharePoint", "OneDrive")
| where Operation in~ ("FileDownloaded", "FileSyncDownloadedFull") and isnotempty(SourceFileExtension)
| extend ClientIPOnly = case(ClientIP has ".", tostring(split(ClientIP, ":")[0]), ClientIP has "[", tostring(trim_start(@'[[]', tostring(split(ClientIP, "]")[0]))), ClientIP)
| summarize Files = dcount(SourceFileName), Sites = make_set(Site_Url) by UserId, ClientIPOnly, UserAgent, bin(TimeGenerated, 1d)
| where Files > 100`,
      `OfficeActivity
| where OfficeWorkload == "Exchange" and Operation in~ ("New-InboxRule", "Set-InboxRule", "Set-Mailbox")
| where Parameters has_any ("ForwardTo", "RedirectTo", "ForwardingSmtpAddress")
| mv-apply DynamicParameters = todynamic(Parameters) on (summarize ParsedParameters = make_bag(bag_pack(tostring(DynamicParameters.Name), DynamicParameters.Value)))
| extend Destination = tostring(ParsedParameters.ForwardTo)
| project TimeGenerated, UserId, UserKey, ClientIP, Client_IPAddress, Destination, OriginatingServer, OfficeObjectId, ExternalAccess, Logon_Type, MailboxOwnerUPN`,
      `OfficeActivity
| where RecordType == "AzureActiveDirectoryStsLogon" and Operation == "UserLoggedIn"
| summarize Logons = count(), Addresses = make_set(ActorIpAddress) by UserId, UserKey, UserType, UserDomain, ApplicationId, OrganizationId, bin(TimeGenerated, 1h)`,
      `union isfuzzy=true (OfficeActivity | where TimeGenerated > ago(1d) | project TimeGenerated, UserId, Operation, Type)
| summarize count() by Type, Operation`,
    ];
    for (const query of queries) {
      const compiled = compile(query, { tables: [workspaceTable], functions: [{ name: 'OfficeActivity', body: viewQuery }] });
      expect(describeDiagnostics(compiled.errors), query.split('\n')[1]).toEqual([]);
    }
  });
});

describe('every query the project ships', () => {
  const kqlFiles = readdirSync(path.join(repoRoot, KQL_DIR)).filter((f) => f.endsWith('.kql')).sort();
  const functions: KustoFunction[] = [];

  beforeAll(() => {
    functions.push({ name: VIEW, body: viewQuery });
  });

  it('finds the view and the queries file under infra/sentinel', () => {
    expect(kqlFiles).toEqual(expect.arrayContaining([`${VIEW}.kql`, 'queries.kql']));
  });

  it.each(kqlFiles)('%s compiles against the table and the view, block by block', (file) => {
    const blocks = queryBlocks(readFileSync(path.join(repoRoot, KQL_DIR, file), 'utf8'));
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      const compiled = compile(block.query, { tables: [workspaceTable], functions });
      const problems = describeDiagnostics(compiled.errors).map((d) => `${file}:${block.line}+${d}`);
      expect(problems).toEqual([]);
      expect(compiled.columns.length, `${file}:${block.line} yields a table`).toBeGreaterThan(0);
    }
  });
});
