import { createRequire } from 'node:module';
import { Language, Parser, type Node } from 'web-tree-sitter';

/**
 * A small reader of Bicep syntax trees for the infra tests: tree-sitter-bicep (WASM) parses each file,
 * and these helpers find declarations and the literal values of their properties. It checks syntax and
 * shape only; there is no Bicep compiler offline, so types and symbol resolution are not validated.
 */

/** A parsed Bicep file; `path` is repository-relative and used in every problem report. */
export interface BicepFile {
  readonly path: string;
  readonly source: string;
  readonly root: Node;
}

/** A `resource` declaration: its type without the API version, and the object that is its body. */
export interface ResourceDeclaration {
  readonly file: BicepFile;
  readonly symbol: string;
  readonly type: string;
  readonly apiVersion: string;
  readonly existing: boolean;
  readonly body: Node;
  /** The loop (`[for x in xs: ...]`) the resource is declared in, if any. */
  readonly loop?: { readonly variable: string; readonly iterable: Node };
  /** The `if (...)` condition expression, if any. */
  readonly condition?: Node;
  readonly line: number;
}

/** A `module` declaration: its path as written and its body. */
export interface ModuleDeclaration {
  readonly file: BicepFile;
  readonly symbol: string;
  readonly path: string;
  readonly body: Node;
  readonly condition?: Node;
  readonly line: number;
}

/** A `param` declaration with its decorators and default value expression. */
export interface ParamDeclaration {
  readonly name: string;
  readonly type: string;
  readonly defaultValue?: Node;
  readonly decorators: readonly string[];
  readonly line: number;
}

let parser: Promise<Parser> | undefined;

/** One parser per test worker; the WASM is resolved from the installed tree-sitter-bicep package. */
export function bicepParser(): Promise<Parser> {
  parser ??= (async () => {
    await Parser.init();
    const wasm = createRequire(import.meta.url).resolve('tree-sitter-bicep/tree-sitter-bicep.wasm');
    const p = new Parser();
    p.setLanguage(await Language.load(wasm));
    return p;
  })();
  return parser;
}

/** Parses Bicep source; throws only if tree-sitter returns no tree at all (syntax errors are in the tree). */
export async function parseBicep(path: string, source: string): Promise<BicepFile> {
  const tree = (await bicepParser()).parse(source);
  if (!tree) throw new Error(`${path}: tree-sitter returned no tree`);
  return { path, source, root: tree.rootNode };
}

/** Every ERROR and MISSING node of the file as `path:line:col: message` (1-based), in source order. */
export function syntaxProblems(file: BicepFile): string[] {
  const problems: string[] = [];
  const visit = (node: Node): void => {
    const at = `${file.path}:${node.startPosition.row + 1}:${node.startPosition.column + 1}`;
    if (node.isMissing) {
      problems.push(`${at}: missing ${JSON.stringify(node.type)}`);
      return;
    }
    if (node.type === 'ERROR') {
      problems.push(`${at}: syntax error near ${JSON.stringify(node.text.slice(0, 40))}`);
      return;
    }
    for (const child of node.children) if (child) visit(child);
  };
  visit(file.root);
  return problems;
}

/** The named children of `node`. */
export function named(node: Node): Node[] {
  return node.namedChildren.filter((n): n is Node => n !== null);
}

/** The declaration's decorators (`@description(...)` etc.) as source text; they precede it as a sibling node. */
function decoratorsOf(node: Node): string[] {
  const previous = node.previousNamedSibling;
  if (previous?.type !== 'decorators') return [];
  return named(previous).map((d) => d.text);
}

interface Body {
  body: Node;
  loop?: { variable: string; iterable: Node };
  condition?: Node;
}

/** Unwraps `[for x in xs: if (c) { ... }]` down to the object. */
function unwrapBody(node: Node): Body | undefined {
  if (node.type === 'object') return { body: node };
  if (node.type === 'if_statement') {
    const [condition, object] = named(node);
    if (!condition || object?.type !== 'object') return undefined;
    return { body: object, condition: condition.type === 'parenthesized_expression' ? (named(condition)[0] ?? condition) : condition };
  }
  if (node.type === 'for_statement') {
    // `for x in` has an initializer field; `for (x, i) in` has loop parameters instead.
    const initializer = node.childForFieldName('initializer') ?? named(node).find((n) => n.type === 'for_loop_parameters');
    const inner = node.childForFieldName('body');
    const iterable = named(node).find((n) => n.id !== initializer?.id && n.id !== inner?.id);
    if (!initializer || !inner || !iterable) return undefined;
    const variable = initializer.type === 'for_loop_parameters' ? named(initializer)[0]?.text : initializer.text;
    const unwrapped = unwrapBody(inner);
    if (!unwrapped || !variable) return undefined;
    return { ...unwrapped, loop: { variable, iterable } };
  }
  return undefined;
}

/**
 * The declarations of node type `type` at the top level of the file, each with its symbol, the string that
 * follows it (a resource's type, a module's path) and its unwrapped body; `what` names them in the error
 * for one of another shape.
 */
function topLevelDeclarations(file: BicepFile, type: string, what: string) {
  return named(file.root)
    .filter((node) => node.type === type)
    .map((node) => {
      const [symbol, string] = named(node);
      const body = node.lastNamedChild && unwrapBody(node.lastNamedChild);
      const text = string ? stringValue(string) : undefined;
      if (!symbol || text === undefined || !body) throw new Error(`${file.path}:${node.startPosition.row + 1}: unexpected ${what} shape`);
      return { node, symbol: symbol.text, text, body, line: node.startPosition.row + 1 };
    });
}

/** Every `resource` declaration at the top level of the file, including `existing` ones. */
export function resourceDeclarations(file: BicepFile): ResourceDeclaration[] {
  return topLevelDeclarations(file, 'resource_declaration', 'resource').map(({ node, symbol, text, body, line }) => {
    const [type = '', apiVersion = ''] = text.split('@');
    return { file, symbol, type, apiVersion, existing: node.children.some((c) => c?.type === 'existing'), ...body, line };
  });
}

/** Every `module` declaration at the top level of the file. */
export function moduleDeclarations(file: BicepFile): ModuleDeclaration[] {
  return topLevelDeclarations(file, 'module_declaration', 'module').map(({ symbol, text, body, line }) => ({ file, symbol, path: text, body: body.body, condition: body.condition, line }));
}

/** Every `param` declaration of the file, by name. */
export function paramDeclarations(file: BicepFile): Map<string, ParamDeclaration> {
  const found = new Map<string, ParamDeclaration>();
  for (const node of named(file.root)) {
    if (node.type !== 'parameter_declaration') continue;
    const [name, type, defaultValue] = named(node);
    if (!name || !type) throw new Error(`${file.path}:${node.startPosition.row + 1}: unexpected param shape`);
    found.set(name.text, { name: name.text, type: type.text, defaultValue, decorators: decoratorsOf(node), line: node.startPosition.row + 1 });
  }
  return found;
}

/** Every `output` declaration of the file with its decorators. */
export function outputDeclarations(file: BicepFile): { name: string; decorators: readonly string[]; value: Node }[] {
  return named(file.root)
    .filter((n) => n.type === 'output_declaration')
    .map((node) => {
      const parts = named(node);
      const name = parts[0];
      const value = parts[parts.length - 1];
      if (!name || !value) throw new Error(`${file.path}:${node.startPosition.row + 1}: unexpected output shape`);
      return { name: name.text, decorators: decoratorsOf(node), value };
    });
}

/** The value expression of every `var` of the file, by name. */
export function variableDeclarations(file: BicepFile): Map<string, Node> {
  const found = new Map<string, Node>();
  for (const node of named(file.root)) {
    if (node.type !== 'variable_declaration') continue;
    const [name, value] = named(node);
    if (name && value) found.set(name.text, value);
  }
  return found;
}

/** The key of an object property (identifier or plain quoted string). */
function propertyKey(property: Node): string | undefined {
  const key = property.firstNamedChild;
  if (!key) return undefined;
  return key.type === 'string' ? stringValue(key) ?? key.text : key.text;
}

/** The properties of an object expression, in source order. */
export function objectEntries(object: Node): [string, Node][] {
  const entries: [string, Node][] = [];
  for (const property of named(object)) {
    if (property.type !== 'object_property') continue;
    const key = propertyKey(property);
    const value = property.lastNamedChild;
    if (key !== undefined && value && value.id !== property.firstNamedChild?.id) entries.push([key, value]);
  }
  return entries;
}

/** Follows a dotted property path (`properties.siteConfig.ftpsState`) through nested object literals. */
export function propertyAt(object: Node | undefined, dottedPath: string): Node | undefined {
  let current = object;
  for (const key of dottedPath.split('.')) {
    if (current?.type !== 'object') return undefined;
    current = objectEntries(current).find(([k]) => k === key)?.[1];
  }
  return current;
}

/** What each escape sequence of a Bicep string (the character after the backslash) stands for. */
export const ESCAPES: Readonly<Record<string, string>> = { "'": "'", '\\': '\\', n: '\n', r: '\r', t: '\t', $: '$' };

/** The value of a string literal without interpolation (escapes decoded), else undefined. */
export function stringValue(node: Node): string | undefined {
  if (node.type !== 'string' || node.descendantsOfType('interpolation').length > 0) return undefined;
  const text = node.text;
  if (text.startsWith("'''")) return text.slice(3, -3);
  return text.slice(1, -1).replace(/\\(.)/g, (_, c: string) => ESCAPES[c] ?? c);
}

/**
 * The JSON value of a literal expression: strings without interpolation, numbers, booleans, null, and
 * arrays/objects of those. Identifiers are followed to `var`s of `file`; anything else is undefined.
 */
export function literalValue(node: Node | undefined, file?: BicepFile): unknown {
  if (!node) return undefined;
  switch (node.type) {
    case 'string':
      return stringValue(node);
    case 'number':
      return Number(node.text);
    case 'boolean':
      return node.text === 'true';
    case 'null':
      return null;
    case 'array': {
      const items = named(node).map((item) => literalValue(item, file));
      return items.some((item) => item === undefined) ? undefined : items;
    }
    case 'object': {
      const entries = objectEntries(node).map(([key, value]) => [key, literalValue(value, file)] as const);
      return entries.some(([, value]) => value === undefined) ? undefined : Object.fromEntries(entries);
    }
    case 'identifier': {
      const declared = file && variableDeclarations(file).get(node.text);
      return declared ? literalValue(declared, file) : undefined;
    }
    default:
      return undefined;
  }
}

/** Every identifier token of an expression (symbols, function names, object keys), in source order, once each; callers filter by what they look for. */
export function referencedIdentifiers(node: Node): string[] {
  const names = node.type === 'identifier' ? [node.text] : node.descendantsOfType('identifier').flatMap((n) => (n ? [n.text] : []));
  return [...new Set(names)];
}
