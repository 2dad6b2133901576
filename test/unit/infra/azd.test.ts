import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');

/** The key: value pairs of azure.yaml by their dotted path (the file is plain nested mappings). */
function yamlValues(text: string): Map<string, string> {
  const values = new Map<string, string>();
  const stack: { indent: number; key: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\s*)([A-Za-z][\w-]*):\s*(.*?)\s*$/.exec(line.replace(/\s+#.*$/, ''));
    if (!m || line.trimStart().startsWith('#')) continue;
    const indent = m[1]!.length;
    while (stack.length && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const key = [...stack.map((s) => s.key), m[2]!].join('.');
    if (m[3]) values.set(key, m[3]);
    else stack.push({ indent, key: m[2]! });
  }
  return values;
}

describe('azure.yaml (azd up)', () => {
  const yaml = yamlValues(read('azure.yaml'));

  it('points at real paths: the Bicep entry point with its parameters, the project, and the folder the package script stages', () => {
    const infra = yaml.get('infra.path')!;
    const module = yaml.get('infra.module')!;
    expect(yaml.get('infra.provider')).toBe('bicep');
    expect(existsSync(path.join(root, infra, `${module}.bicep`))).toBe(true);
    expect(existsSync(path.join(root, infra, `${module}.parameters.json`))).toBe(true);
    const project = yaml.get('services.app.project')!;
    expect(existsSync(path.join(root, project, 'package.json'))).toBe(true);
    expect(existsSync(path.join(root, project, 'host.json'))).toBe(true);
    expect(yaml.get('services.app.host')).toBe('function');
    expect(yaml.get('services.app.language')).toBe('ts');
    // azd runs `npm run package` before it uploads `dist`: that script must stage exactly that folder.
    const { scripts } = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(scripts.package).toMatch(/tsx tools\/cli\/package\.ts/);
    expect(yaml.get('services.app.dist')).toBe('.package/app');
    expect(read('tools/cli/package.ts')).toMatch(/join\(ROOT, '\.package'\)/);
    expect(yaml.get('services.app.remoteBuild')).toBe('false');
  });

  it('finds the function app by its service tag, and fills every required parameter from the azd environment', () => {
    expect(read('infra/modules/function-app.bicep')).toMatch(/tags: union\(tags, \{ 'azd-service-name': 'app' \}\)/);
    const bicep = read('infra/azd.bicep');
    const required = [...bicep.matchAll(/^param (\w+) \w+$/gm)].map((m) => m[1]);
    const given = Object.keys((JSON.parse(read('infra/azd.parameters.json')) as { parameters: Record<string, unknown> }).parameters);
    for (const name of required) expect(given, `parameter ${name}`).toContain(name);
    for (const name of given) expect(bicep, `parameter ${name}`).toMatch(new RegExp(`^param ${name} `, 'm'));
    expect(read('infra/azd.parameters.json')).toContain('${AZURE_ENV_NAME}');
    expect(read('infra/azd.parameters.json')).toContain('${M365_TENANTS}');
    expect(bicep).toMatch(/module pipeline 'main\.bicep'/);
  });
});
