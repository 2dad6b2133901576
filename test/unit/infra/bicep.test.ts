import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Node } from 'web-tree-sitter';
import { SETTINGS } from '../../../shared/config.js';
import { CONTENT_TYPES } from '../../../shared/core/model.js';
import { FIELD_ORDER } from '../../../shared/core/normalize/event.js';
import { CONTAINERS, TABLES } from '../../../shared/adapters/storage/clients.js';
import {
  literalValue,
  moduleDeclarations,
  objectEntries,
  outputDeclarations,
  paramDeclarations,
  parseBicep,
  propertyAt,
  referencedIdentifiers,
  resourceDeclarations,
  stringValue,
  syntaxProblems,
  variableDeclarations,
  type BicepFile,
  type ResourceDeclaration,
} from './bicepSyntax.js';

// Offline checks of infra/: syntax through tree-sitter-bicep, and the security and configuration
// properties read from the syntax trees. No Bicep compiler is available, so these checks are what stands
// between an edit and a deployment that leaks keys or misses a setting.

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const infraDir = path.join(repoRoot, 'infra');
const bicepPaths = readdirSync(infraDir, { recursive: true, encoding: 'utf8' })
  .filter((p) => p.endsWith('.bicep'))
  .map((p) => path.posix.join('infra', p.split(path.sep).join('/')))
  .sort();

const files = new Map<string, BicepFile>();

beforeAll(async () => {
  for (const p of bicepPaths) files.set(p, await parseBicep(p, readFileSync(path.join(repoRoot, p), 'utf8')));
});

function file(p: string): BicepFile {
  const found = files.get(p);
  if (!found) throw new Error(`${p} was not parsed`);
  return found;
}

function allResources(): ResourceDeclaration[] {
  return [...files.values()].flatMap(resourceDeclarations);
}

/** The one declaration of a resource type across infra/ (new resources only unless `existing` is asked for). */
function onlyResource(type: string, existing = false): ResourceDeclaration {
  const found = allResources().filter((r) => r.type === type && r.existing === existing);
  expect(found.map((r) => `${r.file.path}:${r.line}`), `declarations of ${type}`).toHaveLength(1);
  return found[0]!;
}

function value(resource: ResourceDeclaration, dottedPath: string): unknown {
  return literalValue(propertyAt(resource.body, dottedPath), resource.file);
}

function text(node: Node | undefined): string | undefined {
  return node?.text.replace(/\s+/g, ' ');
}

function moduleIn(p: string, modulePath: string) {
  const found = moduleDeclarations(file(p)).filter((m) => m.path === modulePath);
  expect(found, `module ${modulePath} in ${p}`).toHaveLength(1);
  return found[0]!;
}

const MAIN = 'infra/main.bicep';
const FUNCTION_APP = 'infra/modules/function-app.bicep';

describe('syntax', () => {
  it('finds the entry point and every module under infra/', () => {
    expect(bicepPaths).toContain(MAIN);
    expect(bicepPaths).toContain('infra/modules/sentinel.bicep');
    expect(bicepPaths.length).toBeGreaterThanOrEqual(8);
  });

  it.each(bicepPaths)('%s parses without ERROR or MISSING nodes', (p) => {
    expect(syntaxProblems(file(p))).toEqual([]);
  });

  it('reports a syntax error with file, line and column', async () => {
    // The spread operator is valid Bicep that this grammar cannot parse: exactly the case the test must surface.
    const broken = await parseBicep('broken.bicep', "param a object\n\nvar b = {\n  ...a\n  c: 1\n}\n");
    const problems = syntaxProblems(broken);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatch(/^broken\.bicep:4:\d+: /);
  });

  it('declares resource types as Namespace/type@yyyy-mm-dd', () => {
    for (const r of allResources()) {
      expect(`${r.type}@${r.apiVersion}`, `${r.file.path}:${r.line}`).toMatch(/^Microsoft\.[A-Za-z]+(\/[A-Za-z]+)+@\d{4}-\d{2}-\d{2}(-preview)?$/);
    }
  });

  it('points every local module at an existing file, and uses every module file', () => {
    const used = new Set<string>();
    for (const f of files.values()) {
      for (const m of moduleDeclarations(f)) {
        expect(m.path, `${f.path}:${m.line} uses a registry module that cannot be resolved offline`).not.toMatch(/^(br|ts)[:/]/);
        const target = path.posix.join(path.posix.dirname(f.path), m.path);
        expect(existsSync(path.join(repoRoot, target)), `${f.path}:${m.line} -> ${target}`).toBe(true);
        used.add(target);
      }
    }
    // Entry points: main.bicep (az deployment) and azd.bicep (the Azure Developer CLI, which deploys main.bicep).
    expect(bicepPaths.filter((p) => p !== MAIN && p !== 'infra/azd.bicep' && !used.has(p))).toEqual([]);
  });

  it('passes every required module parameter and no undeclared one', () => {
    for (const f of files.values()) {
      for (const m of moduleDeclarations(f)) {
        const target = file(path.posix.join(path.posix.dirname(f.path), m.path));
        const declared = paramDeclarations(target);
        const passed = objectEntries(propertyAt(m.body, 'params')!).map(([k]) => k);
        const where = `${f.path}:${m.line} (${target.path})`;
        expect(passed.filter((k) => !declared.has(k)), `${where}: unknown params`).toEqual([]);
        const required = [...declared.values()].filter((d) => d.defaultValue === undefined && !d.type.endsWith('?'));
        expect(required.map((d) => d.name).filter((n) => !passed.includes(n)), `${where}: missing params`).toEqual([]);
      }
    }
  });

  it('describes every parameter as Required., Optional. or Conditional., and every output', () => {
    for (const f of files.values()) {
      for (const p of paramDeclarations(f).values()) {
        const description = p.decorators.find((d) => d.startsWith('@description('));
        expect(description, `${f.path}:${p.line} param ${p.name}`).toMatch(/^@description\('(Required|Optional|Conditional)\. /);
      }
      for (const o of outputDeclarations(f)) {
        expect(o.decorators.some((d) => d.startsWith('@description(')), `${f.path} output ${o.name}`).toBe(true);
      }
    }
  });
});

describe('no keys, connection strings or SAS', () => {
  const forbidden = [/listKeys\s*\(/i, /listConnectionStrings/i, /list(Account|Service)Sas/i, /SharedAccessKey/i, /SharedAccessSignature/i, /AccountKey=/i];
  const infraFiles = readdirSync(infraDir, { recursive: true, encoding: 'utf8' })
    .filter((p) => /\.(bicep|json|kql|bicepparam)$/.test(p))
    .map((p) => path.join('infra', p));

  it.each(infraFiles)('%s contains none of them', (p) => {
    const source = readFileSync(path.join(repoRoot, p), 'utf8');
    for (const pattern of forbidden) {
      const index = source.search(pattern);
      const line = index < 0 ? 0 : source.slice(0, index).split('\n').length;
      expect(index, `${p}:${line} matches ${pattern}`).toBe(-1);
    }
  });

  it('outputs no secret from the deployment', () => {
    for (const f of files.values()) {
      for (const o of outputDeclarations(f)) {
        expect(o.name, `${f.path} output ${o.name}`).not.toMatch(/secret|password|accountkey|sas|primarykey/i);
        expect(o.decorators.includes('@secure()'), `${f.path} output ${o.name}`).toBe(false);
      }
    }
  });
});

describe('storage account', () => {
  it('accepts Entra ID only, over TLS 1.2 and https, with no public blobs', () => {
    const account = onlyResource('Microsoft.Storage/storageAccounts');
    expect(value(account, 'properties.allowSharedKeyAccess')).toBe(false);
    expect(value(account, 'properties.allowBlobPublicAccess')).toBe(false);
    expect(value(account, 'properties.minimumTlsVersion')).toBe('TLS1_2');
    expect(value(account, 'properties.supportsHttpsTrafficOnly')).toBe(true);
    expect(value(account, 'properties.defaultToOAuthAuthentication')).toBe(true);
  });

  it('creates the content and discovery queues the app reads and their poison queues, from the same parameters', () => {
    const queues = onlyResource('Microsoft.Storage/storageAccounts/queueServices/queues');
    expect(queues.loop).toBeDefined();
    const names = variableDeclarations(queues.file).get(queues.loop!.iterable.text);
    expect(names?.type).toBe('array');
    expect(names!.namedChildren.map((n) => text(n!))).toEqual(['contentQueueName', "'${contentQueueName}-poison'", 'pollQueueName', "'${pollQueueName}-poison'"]);
    // main feeds one parameter to both the queue and its app setting.
    for (const param of ['contentQueueName', 'pollQueueName']) {
      expect(text(propertyAt(moduleIn(MAIN, 'modules/storage.bicep').body, `params.${param}`))).toBe(param);
      expect(text(propertyAt(moduleIn(MAIN, 'modules/function-app.bicep').body, `params.${param}`))).toBe(param);
    }
  });

  it('creates the tables and containers the storage adapter uses, and the deployment container', () => {
    const tables = onlyResource('Microsoft.Storage/storageAccounts/tableServices/tables');
    expect(literalValue(tables.loop!.iterable, tables.file)).toEqual(expect.arrayContaining(Object.values(TABLES)));
    const containers = onlyResource('Microsoft.Storage/storageAccounts/blobServices/containers');
    const names = variableDeclarations(containers.file).get(containers.loop!.iterable.text)!;
    const literal = names.namedChildren.flatMap((n) => (n && stringValue(n) !== undefined ? [stringValue(n)] : []));
    expect(literal).toEqual(expect.arrayContaining(Object.values(CONTAINERS)));
    expect(names.namedChildren.map((n) => n?.text)).toContain('deploymentContainerName');
    expect(value(containers, 'properties.publicAccess')).toBe('None');
  });

  it('deletes quarantine and claim-check blobs after a parameterized number of days', () => {
    const policy = onlyResource('Microsoft.Storage/storageAccounts/managementPolicies');
    const rules = propertyAt(policy.body, 'properties.policy.rules')!;
    const params = paramDeclarations(policy.file);
    const expiring = new Map<string, string>();
    for (const rule of rules.namedChildren) {
      const prefixes = literalValue(propertyAt(rule!, 'definition.filters.prefixMatch')) as string[];
      const days = propertyAt(rule!, 'definition.actions.baseBlob.delete.daysAfterModificationGreaterThan');
      expect(days?.type).toBe('identifier');
      expect(params.get(days!.text)?.decorators).toContain('@minValue(1)');
      expect(literalValue(propertyAt(rule!, 'enabled'))).toBe(true);
      for (const prefix of prefixes) expiring.set(prefix, days!.text);
    }
    expect([...expiring.keys()].sort()).toEqual([`${CONTAINERS.claimCheck}/`, `${CONTAINERS.quarantine}/`]);
  });
});

describe('Event Hubs', () => {
  it('runs a Standard namespace with local (SAS) authentication off and TLS 1.2', () => {
    const namespace = onlyResource('Microsoft.EventHub/namespaces');
    expect(value(namespace, 'sku.name')).toBe('Standard');
    expect(value(namespace, 'properties.disableLocalAuth')).toBe(true);
    expect(value(namespace, 'properties.minimumTlsVersion')).toBe('1.2');
    const rules = onlyResource('Microsoft.EventHub/namespaces/networkRuleSets');
    expect(value(rules, 'properties.trustedServiceAccessEnabled')).toBe(true);
  });

  it('takes partition count and retention from parameters, within the Standard tier limits', () => {
    const hub = onlyResource('Microsoft.EventHub/namespaces/eventhubs');
    const params = paramDeclarations(hub.file);
    const partitions = params.get(propertyAt(hub.body, 'properties.partitionCount')!.text);
    const retention = params.get(propertyAt(hub.body, 'properties.messageRetentionInDays')!.text);
    expect(partitions?.decorators).toEqual(expect.arrayContaining(['@minValue(1)', '@maxValue(32)']));
    expect(retention?.decorators).toEqual(expect.arrayContaining(['@minValue(1)', '@maxValue(7)']));
  });

  it('creates a Sentinel consumer group, the forwarder\'s when it is deployed, plus the extra ones, and gives each reader its group', () => {
    const groups = onlyResource('Microsoft.EventHub/namespaces/eventhubs/consumergroups');
    expect(groups.loop?.iterable.text).toBe('consumerGroupNames');
    const passed = text(propertyAt(moduleIn(MAIN, 'modules/event-hubs.bicep').body, 'params.consumerGroupNames'));
    expect(passed).toBe('concat([sentinelConsumerGroupName], deployForwarder ? [logsIngestionConsumerGroupName] : [], additionalConsumerGroupNames)');
    expect(literalValue(paramDeclarations(file(MAIN)).get('sentinelConsumerGroupName')?.defaultValue)).toBe('sentinel');
    expect(literalValue(paramDeclarations(file(MAIN)).get('logsIngestionConsumerGroupName')?.defaultValue)).toBe('logs-ingestion');
    expect(text(propertyAt(moduleIn(MAIN, 'modules/sentinel.bicep').body, 'params.consumerGroupName'))).toBe('sentinelConsumerGroupName');
    expect(text(propertyAt(moduleIn(MAIN, 'modules/function-app.bicep').body, 'params.logsIngestionConsumerGroupName'))).toBe('logsIngestionConsumerGroupName');
  });
});

describe('Key Vault and Application Insights', () => {
  it('authorizes the vault with Azure RBAC and keeps deleted secrets recoverable', () => {
    const vault = onlyResource('Microsoft.KeyVault/vaults');
    expect(value(vault, 'properties.enableRbacAuthorization')).toBe(true);
    expect(value(vault, 'properties.enableSoftDelete')).toBe(true);
    expect(value(vault, 'properties.enablePurgeProtection')).toBe(true);
    expect(propertyAt(vault.body, 'properties.accessPolicies')).toBeUndefined();
    expect(propertyAt(vault.body, 'properties.publicNetworkAccess')?.type).toBe('identifier');
  });

  it('accepts only Entra ID-authenticated telemetry in a workspace-based component', () => {
    const component = onlyResource('Microsoft.Insights/components');
    expect(value(component, 'properties.DisableLocalAuth')).toBe(true);
    expect(text(propertyAt(component.body, 'properties.WorkspaceResourceId'))).toBe('workspace.id');
  });
});

describe('role assignments', () => {
  // Built-in role definition IDs (the same in every Azure cloud).
  const ROLES: Record<string, string> = {
    'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
    '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
    '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
    '2b629674-e913-4c01-ae53-ef4638d8f975': 'Azure Event Hubs Data Sender',
    'a638d3c7-ab3a-418d-83e6-5f17a39d4fde': 'Azure Event Hubs Data Receiver',
    '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User',
    '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
  };

  function grants(): { role: string; scopeType: string; where: string }[] {
    return allResources()
      .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')
      .flatMap((r) => {
        const where = `${r.file.path}:${r.line}`;
        const scope = propertyAt(r.body, 'scope');
        expect(scope?.type, `${where}: scope must name a resource, not ${text(scope)}`).toBe('identifier');
        const target = resourceDeclarations(r.file).find((d) => d.symbol === scope!.text);
        expect(target, `${where}: scope ${scope!.text} is not a resource of this file`).toBeDefined();

        expect(value(r, 'properties.principalType'), where).toBe('ServicePrincipal');
        const name = propertyAt(r.body, 'name');
        expect(text(name), `${where}: name must be a guid() over the scope`).toMatch(new RegExp(`^guid\\(${scope!.text}\\.id, `));

        const definition = propertyAt(r.body, 'properties.roleDefinitionId')!;
        expect(text(definition), where).toMatch(/^subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', /);
        const roleArgument = definition.descendantsOfType('arguments')[0]!.namedChildren[1]!;
        const roleIds =
          r.loop && roleArgument.text === r.loop.variable ? literalValue(r.loop.iterable, r.file) : [literalValue(roleArgument, r.file)];
        expect(Array.isArray(roleIds), `${where}: role ID must resolve to literal GUIDs`).toBe(true);
        return (roleIds as unknown[]).map((role) => ({ role: String(role), scopeType: target!.type, where }));
      });
  }

  it('grants exactly the least-privilege roles, each on the one resource it is for', () => {
    const granted = grants()
      .map((g) => `${ROLES[g.role] ?? `unexpected role ${g.role} at ${g.where}`} -> ${g.scopeType}`)
      .sort();
    expect(granted).toEqual([
      'Azure Event Hubs Data Receiver -> Microsoft.EventHub/namespaces/eventhubs',
      'Azure Event Hubs Data Receiver -> Microsoft.EventHub/namespaces/eventhubs',
      'Azure Event Hubs Data Sender -> Microsoft.EventHub/namespaces/eventhubs',
      'Key Vault Secrets User -> Microsoft.KeyVault/vaults',
      'Monitoring Metrics Publisher -> Microsoft.Insights/components',
      'Monitoring Metrics Publisher -> Microsoft.Insights/dataCollectionRules',
      'Storage Blob Data Owner -> Microsoft.Storage/storageAccounts',
      'Storage Queue Data Contributor -> Microsoft.Storage/storageAccounts',
      'Storage Table Data Contributor -> Microsoft.Storage/storageAccounts',
    ]);
  });

  it('names each role next to its GUID', () => {
    for (const f of files.values()) {
      const lines = f.source.split('\n');
      lines.forEach((line, index) => {
        for (const [id, role] of Object.entries(ROLES)) {
          if (line.includes(id)) expect(lines[index - 1], `${f.path}:${index + 1}`).toMatch(new RegExp(`^\\s*//.*${role}`));
        }
      });
    }
  });
});

describe('function app', () => {
  it('runs on a Flex Consumption plan, Linux, Node.js 22', () => {
    const plan = onlyResource('Microsoft.Web/serverfarms');
    expect(value(plan, 'sku')).toEqual({ tier: 'FlexConsumption', name: 'FC1' });
    const site = onlyResource('Microsoft.Web/sites');
    expect(value(site, 'kind')).toBe('functionapp,linux');
    expect(value(site, 'properties.functionAppConfig.runtime')).toEqual({ name: 'node', version: '22' });
    expect(propertyAt(site.body, 'properties.functionAppConfig.scaleAndConcurrency.maximumInstanceCount')?.type).toBe('identifier');
  });

  it('serves https only with TLS 1.2, no FTP, and no basic-auth publishing', () => {
    const site = onlyResource('Microsoft.Web/sites');
    expect(value(site, 'properties.httpsOnly')).toBe(true);
    expect(value(site, 'properties.siteConfig.ftpsState')).toBe('Disabled');
    expect(value(site, 'properties.siteConfig.minTlsVersion')).toBe('1.2');
    expect(value(site, 'properties.siteConfig.scmMinTlsVersion')).toBe('1.2');
    const policies = allResources().filter((r) => r.type === 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    expect(policies.map((p) => [value(p, 'name'), value(p, 'properties.allow')]).sort()).toEqual([
      ['ftp', false],
      ['scm', false],
    ]);
  });

  it('runs as the user-assigned identity, which also reads the deployment package', () => {
    const site = onlyResource('Microsoft.Web/sites');
    expect(value(site, 'identity.type')).toBe('UserAssigned');
    expect(value(site, 'properties.functionAppConfig.deployment.storage.type')).toBe('blobContainer');
    expect(value(site, 'properties.functionAppConfig.deployment.storage.authentication.type')).toBe('UserAssignedIdentity');
    expect(text(propertyAt(site.body, 'properties.functionAppConfig.deployment.storage.authentication.userAssignedIdentityResourceId'))).toBe(
      'identityResourceId',
    );
  });
});

describe('app settings', () => {
  function appSettings(): Map<string, Node> {
    const config = allResources().filter((r) => r.type === 'Microsoft.Web/sites/config' && value(r, 'name') === 'appsettings');
    expect(config).toHaveLength(1);
    const properties = propertyAt(config[0]!.body, 'properties')!;
    const object = properties.type === 'identifier' ? variableDeclarations(config[0]!.file).get(properties.text) : properties;
    expect(object?.type).toBe('object');
    return new Map(objectEntries(object!));
  }

  it('sets every required setting of the configuration contract', () => {
    const names = [...appSettings().keys()];
    const required = SETTINGS.filter((s) => s.required).map((s) => s.name);
    expect(required.length).toBeGreaterThan(0);
    expect(names).toEqual(expect.arrayContaining(required));
  });

  it('connects to Storage, Event Hubs, Key Vault and Application Insights by identity', () => {
    const settings = appSettings();
    const at = (name: string) => text(settings.get(name));
    expect(at('AzureWebJobsStorage__accountName')).toBe('storageAccountName');
    expect(literalValue(settings.get('AzureWebJobsStorage__credential'))).toBe('managedidentity');
    expect(at('AzureWebJobsStorage__clientId')).toBe('identityClientId');
    expect(at('AZURE_CLIENT_ID')).toBe('identityClientId');
    expect(at('EVENTHUB_CONNECTION__fullyQualifiedNamespace')).toBe('eventHubsFullyQualifiedNamespace');
    expect(at('KEY_VAULT_URL')).toBe('keyVaultUri');
    expect(at('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toBe("'Authorization=AAD;ClientId=${identityClientId}'");
    expect(at('O365_TENANTS')).toMatch(/^string\(\w+\)$/);
    // The key-based forms of the same connections must not exist: with them set, an SDK would prefer a key.
    for (const keyBased of ['AzureWebJobsStorage', 'EVENTHUB_CONNECTION', 'APPINSIGHTS_INSTRUMENTATIONKEY']) {
      expect(settings.has(keyBased), keyBased).toBe(false);
    }
  });

  it('uses only names the app or the Functions host knows, and none that Flex Consumption rejects', () => {
    const known = new Set(SETTINGS.map((s) => s.name));
    const hostSettings = /^(AzureWebJobsStorage__(credential|clientId|(blob|queue|table)ServiceUri)|EVENTHUB_CONNECTION__(credential|clientId)|APPLICATIONINSIGHTS_(CONNECTION|AUTHENTICATION)_STRING)$/;
    const unknown = [...appSettings().keys()].filter((name) => !known.has(name) && !hostSettings.test(name));
    expect(unknown).toEqual([]);
    for (const flexManaged of ['FUNCTIONS_WORKER_RUNTIME', 'FUNCTIONS_EXTENSION_VERSION', 'WEBSITE_RUN_FROM_PACKAGE', 'WEBSITE_NODE_DEFAULT_VERSION']) {
      expect(appSettings().has(flexManaged), flexManaged).toBe(false);
    }
  });

  it('defaults every pipeline setting to the contract default, through the main parameters', () => {
    const settings = appSettings();
    const appParams = paramDeclarations(file(FUNCTION_APP));
    const mainParams = paramDeclarations(file(MAIN));
    const passed = propertyAt(moduleIn(MAIN, 'modules/function-app.bicep').body, 'params')!;
    const withDefaults = SETTINGS.filter((s) => s.default !== undefined && settings.has(s.name));
    expect(withDefaults.map((s) => s.name).sort()).toEqual(
      [
        'CONTENT_QUEUE_NAME', 'EVENT_PROFILE', 'HEAL_GAPS', 'HEAL_GRAPH_VERSION', 'HEAL_LOOKBEHIND_HOURS', 'HEAL_MAX_RUNNING_QUERIES', 'HEAL_QUERIES_PER_DAY', 'HEAL_SCHEDULE',
        'INITIAL_LOOKBACK_HOURS', 'LEDGER_RETENTION_DAYS', 'LOGS_INGESTION_CONSUMER_GROUP', 'LOGS_INGESTION_STREAM',
        'MAX_EVENT_BYTES', 'O365_CONTENT_TYPES', 'OVERLAP_MINUTES', 'PARTITION_KEY_MODE',
        'POLL_QUEUE_NAME', 'POLL_SCHEDULE', 'RECONCILE_SCHEDULE', 'RETRY_INITIAL_SECONDS', 'RETRY_MAX_SECONDS', 'SETTLE_LAG_MINUTES', 'SWEEP_SCHEDULE',
      ],
    );
    for (const setting of withDefaults) {
      const appParam = referencedIdentifiers(settings.get(setting.name)!).find((id) => appParams.has(id));
      expect(appParam, setting.name).toBeDefined();
      const mainExpression = propertyAt(passed, appParam!);
      expect(mainExpression?.type, `${setting.name}: main passes ${text(mainExpression)}`).toBe('identifier');
      const mainDefault = literalValue(mainParams.get(mainExpression!.text)?.defaultValue);
      const rendered = Array.isArray(mainDefault) ? mainDefault.join(',') : String(mainDefault);
      expect(rendered, `${setting.name} (main param ${mainExpression!.text})`).toBe(setting.default);
    }
    expect(literalValue(mainParams.get('contentTypes')?.defaultValue)).toEqual([...CONTENT_TYPES]);
  });
});

describe('private networking', () => {
  it('puts blob, queue, table, Event Hubs and Key Vault behind private endpoints only when enabled', () => {
    const main = file(MAIN);
    const targets = variableDeclarations(main).get('privateEndpointTargets')!;
    const groupIds = targets.namedChildren.map((t) => literalValue(propertyAt(t!, 'groupId')));
    expect(groupIds.sort()).toEqual(['blob', 'namespace', 'queue', 'table', 'vault']);
    const endpoints = moduleIn(MAIN, 'modules/private-endpoint.bicep');
    expect(text(endpoints.condition)).toBe('enablePrivateNetworking');
    expect(text(moduleIn(MAIN, 'modules/network.bicep').condition)).toBe('enablePrivateNetworking');
  });

  it('turns public network access off on the private resources and integrates the function app', () => {
    const main = file(MAIN);
    expect(text(propertyAt(moduleIn(MAIN, 'modules/storage.bicep').body, 'params.publicNetworkAccess'))).toBe(
      "enablePrivateNetworking ? 'Disabled' : 'Enabled'",
    );
    expect(text(paramDeclarations(main).get('keyVaultPublicNetworkAccess')?.defaultValue)).toBe("enablePrivateNetworking ? 'Disabled' : 'Enabled'");
    const eventHubs = moduleIn(MAIN, 'modules/event-hubs.bicep');
    expect(text(propertyAt(eventHubs.body, 'params.networkDefaultAction'))).toBe("enablePrivateNetworking ? 'Deny' : 'Allow'");
    // Public access stays on (with every network denied) only when the Sentinel rule must read the hub as a trusted service.
    expect(text(variableDeclarations(main).get('eventHubsPublicNetworkAccess'))).toBe("enablePrivateNetworking && !deploySentinelImport ? 'Disabled' : 'Enabled'");
    expect(text(variableDeclarations(main).get('deploySentinelImport'))).toBe("deploySentinel && sentinelIngestionPath == 'eventHubDataImport'");
    expect(text(propertyAt(moduleIn(MAIN, 'modules/function-app.bicep').body, 'params.virtualNetworkSubnetId'))).toBe(
      "enablePrivateNetworking ? network!.outputs.functionSubnetId : ''",
    );
  });

  it('delegates the integration subnet to Microsoft.App/environments, as Flex Consumption requires', () => {
    const vnet = onlyResource('Microsoft.Network/virtualNetworks');
    const subnets = propertyAt(vnet.body, 'properties.subnets')!.namedChildren;
    const delegations = subnets.flatMap((s) => (literalValue(propertyAt(s!, 'properties.delegations')) as { properties: { serviceName: string } }[] | undefined) ?? []);
    expect(delegations.map((d) => d.properties.serviceName)).toEqual(['Microsoft.App/environments']);
  });
});

describe('main.parameters.json', () => {
  it('is a deployment parameters file whose parameters all exist in main.bicep, leaving only tenants to the command line', () => {
    const parameters = JSON.parse(readFileSync(path.join(infraDir, 'main.parameters.json'), 'utf8')) as {
      $schema: string;
      parameters: Record<string, { value: unknown }>;
    };
    expect(parameters.$schema).toMatch(/deploymentParameters\.json#$/);
    const declared = paramDeclarations(file(MAIN));
    const names = Object.keys(parameters.parameters);
    expect(names.filter((n) => !declared.has(n))).toEqual([]);
    for (const n of names) expect(parameters.parameters[n], n).toHaveProperty('value');
    const requiredOnCommandLine = [...declared.values()].filter((p) => p.defaultValue === undefined && !names.includes(p.name)).map((p) => p.name);
    expect(requiredOnCommandLine).toEqual(['tenants']);
  });
});

describe('Sentinel module', () => {
  const SENTINEL = 'infra/modules/sentinel.bicep';
  const RESERVED = ['_ResourceId', 'id', '_SubscriptionId', 'TenantId', 'Type', 'UniqueId', 'Title'];

  function columns(): { name: string; type: string }[] {
    const table = onlyResource('Microsoft.OperationalInsights/workspaces/tables');
    expect(text(propertyAt(table.body, 'properties.schema.columns'))).toBe('concat(envelopeColumns, deliveryColumns)');
    const vars = variableDeclarations(table.file);
    return [...(literalValue(vars.get('envelopeColumns'), table.file) as []), ...(literalValue(vars.get('deliveryColumns'), table.file) as [])];
  }

  it('deploys only when a workspace is given', () => {
    const main = file(MAIN);
    expect(text(moduleIn(MAIN, 'modules/sentinel.bicep').condition)).toBe('deploySentinel');
    expect(text(variableDeclarations(main).get('deploySentinel'))).toBe('!empty(sentinelWorkspaceResourceId)');
    expect(literalValue(paramDeclarations(main).get('sentinelWorkspaceResourceId')?.defaultValue)).toBe('');
  });

  it('creates M365AuditNormalized_CL with a valid, typed column for every envelope field', () => {
    const table = onlyResource('Microsoft.OperationalInsights/workspaces/tables');
    expect(literalValue(propertyAt(table.body, 'name'), table.file)).toBe('M365AuditNormalized_CL');
    const cols = columns();
    const names = cols.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const c of cols) {
      expect(c.name).toMatch(/^[A-Za-z][A-Za-z0-9_]{0,44}$/);
      expect(RESERVED).not.toContain(c.name);
      expect(['string', 'int', 'long', 'real', 'boolean', 'dateTime', 'guid', 'dynamic']).toContain(c.type);
    }
    expect(names).toEqual(expect.arrayContaining([...FIELD_ORDER, 'RawRef', 'EhEnqueuedTime', 'EhProperties', 'RecordCount', 'DistinctEventIds', 'EventIdDigest', 'DigestAlgorithm']));
    const ofType = (type: string) => cols.filter((c) => c.type === type).map((c) => c.name).sort();
    expect(ofType('dateTime')).toEqual(['EhEnqueuedTime', 'EventEndTime', 'EventStartTime', 'ProcessedTime', 'TimeGenerated']);
    expect(ofType('int')).toEqual(['DistinctEventIds', 'EventCount', 'RawSizeBytes', 'RecordCount', 'RecordType', 'SrcPortNumber']);
    expect(ofType('boolean')).toEqual(['RawTruncated']);
    expect(ofType('dynamic')).toEqual(['AdditionalFields', 'EhProperties', 'ParseWarnings', 'Raw']);
  });

  function ruleNamed(symbol: string): ResourceDeclaration {
    const rule = resourceDeclarations(file(SENTINEL)).find((r) => r.symbol === symbol);
    expect(rule?.type, symbol).toBe('Microsoft.Insights/dataCollectionRules');
    return rule!;
  }

  it('declares two rules, one per path, each deployed only on its path', () => {
    const rules = allResources().filter((r) => r.type === 'Microsoft.Insights/dataCollectionRules');
    expect(rules.map((r) => `${r.symbol} if ${text(r.condition)}`).sort()).toEqual(['ingestionRule if useLogsIngestion', 'rule if useEventHubDataImport']);
    const vars = variableDeclarations(file(SENTINEL));
    expect(text(vars.get('useEventHubDataImport'))).toBe("ingestionPath == 'eventHubDataImport'");
    expect(text(vars.get('useLogsIngestion'))).toBe("ingestionPath == 'logsIngestionApi'");
    expect(literalValue(paramDeclarations(file(SENTINEL)).get('ingestionPath')?.defaultValue)).toBe('eventHubDataImport');
    expect(text(moduleIn(SENTINEL, './sentinel-event-hub-link.bicep').condition)).toBe('useEventHubDataImport');
    expect(text(propertyAt(moduleIn(MAIN, 'modules/sentinel.bicep').body, 'params.ingestionPath'))).toBe('sentinelIngestionPath');
    expect(text(variableDeclarations(file(MAIN)).get('deployForwarder'))).toBe("deploySentinel && sentinelIngestionPath == 'logsIngestionApi'");
  });

  it('lets the forwarder post to its rule through the endpoint, as the app identity, and read the hub with its own consumer group', () => {
    const rule = ruleNamed('ingestionRule');
    expect(text(propertyAt(rule.body, 'properties.dataCollectionEndpointId'))).toBe('endpoint.id');
    expect(propertyAt(rule.body, 'properties.dataSources')).toBeUndefined();
    const streams = objectEntries(propertyAt(rule.body, 'properties.streamDeclarations')!);
    expect(streams.map(([key]) => key)).toEqual(["'${logsIngestionStreamName}'"]);
    const publisher = resourceDeclarations(file(SENTINEL)).find((r) => r.symbol === 'forwarderPublisher')!;
    expect(text(propertyAt(publisher.body, 'scope'))).toBe('ingestionRule');
    expect(text(propertyAt(publisher.body, 'properties.principalId'))).toBe('forwarderPrincipalId');
    expect(text(propertyAt(moduleIn(MAIN, 'modules/sentinel.bicep').body, 'params.forwarderPrincipalId'))).toBe('identity.outputs.principalId');
    const hub = moduleIn(MAIN, 'modules/sentinel-forwarder-hub.bicep');
    expect(text(hub.condition)).toBe('deployForwarder');
    expect(text(propertyAt(hub.body, 'params.principalId'))).toBe('identity.outputs.principalId');
    const app = propertyAt(moduleIn(MAIN, 'modules/function-app.bicep').body, 'params')!;
    expect(text(propertyAt(app, 'logsIngestionEndpoint'))).toBe("deployForwarder ? sentinel!.outputs.logsIngestionEndpoint : ''");
    expect(text(propertyAt(app, 'logsIngestionRuleId'))).toBe("deployForwarder ? sentinel!.outputs.logsIngestionRuleId : ''");
    expect(text(propertyAt(app, 'logsIngestionStreamName'))).toBe('logsIngestionStreamName');
    expect(text(propertyAt(moduleIn(MAIN, 'modules/sentinel.bicep').body, 'params.logsIngestionStreamName'))).toBe('logsIngestionStreamName');
    const outputs = new Map(outputDeclarations(file(SENTINEL)).map((o) => [o.name, text(o.value)]));
    expect(outputs.get('logsIngestionEndpoint')).toBe("useLogsIngestion ? endpoint.properties.logsIngestion.endpoint : ''");
    expect(outputs.get('logsIngestionRuleId')).toBe("useLogsIngestion ? ingestionRule!.properties.immutableId : ''");
  });

  it('reads the hub through the Sentinel consumer group into the fixed Event Hubs input stream', () => {
    const rule = ruleNamed('rule');
    const vars = variableDeclarations(rule.file);
    expect(literalValue(vars.get('inputStreamName'))).toBe('Custom-M365EhStream');
    expect(value(rule, 'identity.type')).toBe('SystemAssigned');
    expect(text(propertyAt(rule.body, 'properties.dataCollectionEndpointId'))).toBe('endpoint.id');
    const streams = objectEntries(propertyAt(rule.body, 'properties.streamDeclarations')!);
    expect(streams.map(([key]) => key)).toEqual(["'${inputStreamName}'"]);
    expect(literalValue(propertyAt(streams[0]![1], 'columns'))).toEqual([
      { name: 'TimeGenerated', type: 'datetime' },
      { name: 'RawData', type: 'string' },
      { name: 'Properties', type: 'dynamic' },
    ]);
    expect(text(propertyAt(rule.body, 'properties.dataSources.dataImports.eventHub.consumerGroup'))).toBe('consumerGroupName');
    expect(text(propertyAt(rule.body, 'properties.dataSources.dataImports.eventHub.stream'))).toBe('inputStreamName');
    const flow = propertyAt(rule.body, 'properties.dataFlows')!.namedChildren;
    expect(flow).toHaveLength(1);
    expect(text(propertyAt(flow[0]!, 'streams'))).toBe('[ inputStreamName ]');
    expect(text(propertyAt(flow[0]!, 'outputStream'))).toBe("'Custom-${table.name}'");
    expect(text(propertyAt(flow[0]!, 'transformKql'))).toBe('transformKql');
  });

  it('transforms with supported row-by-row KQL only, with a conversion for every column type', () => {
    const sentinel = file(SENTINEL);
    const vars = variableDeclarations(sentinel);
    const conversions = literalValue(vars.get('conversions')) as Record<string, string>;
    const envelope = literalValue(vars.get('envelopeColumns'), sentinel) as { name: string; type: string }[];
    for (const type of new Set(envelope.map((c) => c.type))) {
      if (type !== 'dynamic') expect(conversions, `conversion for ${type}`).toHaveProperty(type);
    }
    // The KQL is the literal text of the transform, the projection template and the conversion names.
    const kqlText = ['transformKql', 'projections']
      .flatMap((name) => vars.get(name)!.descendantsOfType('string_content').map((n) => n!.text))
      .concat(Object.values(conversions).map((fn) => `${fn}(`))
      .join(' ');
    const functions = new Set([...kqlText.matchAll(/\b([a-z_]+)\(/g)].map((m) => m[1]));
    const allowed = new Set(['parse_json', 'todatetime', 'tostring', 'toint', 'tobool', 'todynamic']);
    expect([...functions].filter((f) => !allowed.has(f!))).toEqual([]);
    expect(functions).toContain('parse_json');
    const operators = [...kqlText.matchAll(/\|\s*([a-z-]+)/g)].map((m) => m[1]);
    expect(operators).toEqual(['extend', 'project']);
    expect(kqlText).toContain('EhEnqueuedTime = TimeGenerated');
    expect(kqlText).toContain('EhProperties = Properties');
  });

  it('associates the rule with the event hub and lets only the rule receive from it', () => {
    const association = onlyResource('Microsoft.Insights/dataCollectionRuleAssociations');
    const scope = propertyAt(association.body, 'scope')!;
    const target = resourceDeclarations(association.file).find((r) => r.symbol === scope.text);
    expect(target?.type).toBe('Microsoft.EventHub/namespaces/eventhubs');
    expect(target?.existing).toBe(true);
    expect(text(propertyAt(association.body, 'properties.dataCollectionRuleId'))).toBe('dataCollectionRuleId');
    expect(text(propertyAt(association.body, 'dependsOn'))).toBe('[ receiver ]');
    const link = moduleIn(SENTINEL, './sentinel-event-hub-link.bicep');
    expect(text(propertyAt(link.body, 'params.dataCollectionRulePrincipalId'))).toBe('rule!.identity.principalId');
  });
});

describe('Sentinel KQL', () => {
  // The view and the queries are compiled with the Kusto compiler in test/unit/sentinel/kql.test.ts.
  it('shows query-time dedupe by EventId on a datetime column', () => {
    const source = readFileSync(path.join(infraDir, 'sentinel/queries.kql'), 'utf8');
    const match = /summarize\s+arg_max\(\s*(\w+)\s*,\s*\*\s*\)\s+by\s+EventId\b/.exec(source);
    expect(match).not.toBeNull();
    const sentinel = file('infra/modules/sentinel.bicep');
    const cols = literalValue(variableDeclarations(sentinel).get('envelopeColumns'), sentinel) as { name: string; type: string }[];
    expect(cols.find((c) => c.name === match![1])?.type).toBe('dateTime');
  });
});
