import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Node } from 'web-tree-sitter';
import { ESCAPES, literalValue, named, objectEntries, paramDeclarations, stringValue, variableDeclarations, type BicepFile } from './bicepSyntax.js';

/**
 * Evaluates the Bicep expressions the KQL tests need, the way the Bicep compiler would: string
 * interpolation, variables and parameter defaults, `[for x in xs: ...]`, member and index access, `==`,
 * `!=`, `&&`, `||`, `!`, the conditional operator, and the functions concat, join, split, last, empty,
 * contains, toLower, toUpper and loadTextContent (relative to the file). Anything else throws, naming the
 * file and line, so a test never reads a value it did not understand.
 */

export type BicepValue = string | number | boolean | null | BicepValue[] | { [key: string]: BicepValue };

export interface EvalOptions {
  /** Absolute path of the repository root; `file.path` is relative to it. */
  readonly repoRoot: string;
  /** Parameter values that replace the defaults (e.g. the ingestion path to render). */
  readonly params?: Readonly<Record<string, BicepValue>>;
}

/** The value of variable `name` of `file`. */
export function evaluateVariable(file: BicepFile, name: string, options: EvalOptions): BicepValue {
  const declared = variableDeclarations(file).get(name);
  if (!declared) throw new Error(`${file.path}: no variable ${name}`);
  return evaluate(declared, file, options);
}

/** The value of expression `node` of `file`. */
export function evaluate(node: Node, file: BicepFile, options: EvalOptions, scope: ReadonlyMap<string, BicepValue> = new Map()): BicepValue {
  const fail = (what: string): never => {
    throw new Error(`${file.path}:${node.startPosition.row + 1}: cannot evaluate ${what}: ${node.text.slice(0, 80)}`);
  };
  const recurse = (child: Node, inner = scope) => evaluate(child, file, options, inner);
  switch (node.type) {
    case 'string': {
      const plain = stringValue(node);
      if (plain !== undefined) return plain;
      let text = '';
      for (const part of named(node)) {
        if (part.type === 'interpolation') {
          const value = recurse(named(part)[0]!);
          text += typeof value === 'string' ? value : JSON.stringify(value);
        } else if (part.type === 'string_content') text += part.text;
        else if (part.type === 'escape_sequence') text += ESCAPES[part.text.slice(1)] ?? fail(`escape ${part.text}`);
        else fail(`string part ${part.type}`);
      }
      return text;
    }
    case 'number':
    case 'boolean':
    case 'null':
      return literalValue(node) as number | boolean | null;
    case 'parenthesized_expression':
      return recurse(named(node)[0]!);
    case 'array':
      return named(node).map((item) => recurse(item));
    case 'object':
      return Object.fromEntries(objectEntries(node).map(([key, value]) => [key, recurse(value)]));
    case 'identifier': {
      if (scope.has(node.text)) return scope.get(node.text)!;
      const variable = variableDeclarations(file).get(node.text);
      if (variable) return recurse(variable, new Map());
      if (options.params && Object.hasOwn(options.params, node.text)) return options.params[node.text]!;
      const param = paramDeclarations(file).get(node.text);
      if (param?.defaultValue) return recurse(param.defaultValue, new Map());
      return fail('identifier');
    }
    case 'member_expression': {
      const [object, property] = named(node);
      const value = recurse(object!);
      if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, property!.text)) return fail(`property ${property!.text}`);
      return value[property!.text]!;
    }
    case 'subscript_expression': {
      const [object, index] = named(node);
      const value = recurse(object!);
      const key = recurse(index!);
      if (Array.isArray(value) && typeof key === 'number') return value[key] ?? fail('index');
      if (value !== null && typeof value === 'object' && !Array.isArray(value) && typeof key === 'string' && Object.hasOwn(value, key)) return value[key]!;
      return fail('subscript');
    }
    case 'unary_expression': {
      if (!node.text.trimStart().startsWith('!')) fail('unary operator');
      return !recurse(named(node)[0]!);
    }
    case 'binary_expression': {
      const [left, right] = named(node);
      const operator = node.children.find((c) => c && !c.isNamed)?.text;
      const a = recurse(left!);
      if (operator === '&&') return Boolean(a) && Boolean(recurse(right!));
      if (operator === '||') return Boolean(a) || Boolean(recurse(right!));
      const b = recurse(right!);
      if (operator === '==') return JSON.stringify(a) === JSON.stringify(b);
      if (operator === '!=') return JSON.stringify(a) !== JSON.stringify(b);
      return fail(`operator ${operator}`);
    }
    case 'ternary_expression': {
      const [condition, consequence, alternative] = named(node);
      return recurse(recurse(condition!) ? consequence! : alternative!);
    }
    case 'for_statement': {
      const parts = named(node);
      const [variable, iterable, body] = parts.length === 3 ? parts : fail('loop shape');
      const items = recurse(iterable!);
      if (!Array.isArray(items)) return fail('loop over a non-array');
      return items.map((item) => recurse(body!, new Map([...scope, [variable!.text, item]])));
    }
    case 'call_expression': {
      const [callee, argumentList] = named(node);
      const args = named(argumentList!).map((argument) => recurse(argument));
      return call(callee!.text, args, file, options) ?? fail(`function ${callee!.text}`);
    }
    default:
      return fail(node.type);
  }
}

function call(name: string, args: BicepValue[], file: BicepFile, options: EvalOptions): BicepValue | undefined {
  const [first, second] = args;
  switch (name) {
    case 'concat':
      return args.every(Array.isArray) ? (args as BicepValue[][]).flat(1) : args.map((a) => String(a)).join('');
    case 'join':
      return Array.isArray(first) && typeof second === 'string' ? first.map(String).join(second) : undefined;
    case 'split':
      return typeof first === 'string' && typeof second === 'string' ? first.split(second) : undefined;
    case 'last':
      return Array.isArray(first) ? (first[first.length - 1] ?? null) : undefined;
    case 'empty':
      return first === null || first === '' || (Array.isArray(first) && first.length === 0) || (typeof first === 'object' && Object.keys(first!).length === 0);
    case 'contains':
      if (typeof first === 'string') return first.includes(String(second));
      if (Array.isArray(first)) return first.some((item) => JSON.stringify(item) === JSON.stringify(second));
      return first !== null && typeof first === 'object' && typeof second === 'string' ? Object.hasOwn(first, second) : undefined;
    case 'toLower':
      return typeof first === 'string' ? first.toLowerCase() : undefined;
    case 'toUpper':
      return typeof first === 'string' ? first.toUpperCase() : undefined;
    case 'loadTextContent':
      return typeof first === 'string' ? readFileSync(path.join(options.repoRoot, path.dirname(file.path), first), 'utf8') : undefined;
    default:
      return undefined;
  }
}
