import { createRequire } from 'node:module';

/**
 * Microsoft's Kusto compiler (npm @kusto/language-service-next, the parser and semantic analyzer behind the
 * Kusto editors) for the KQL tests: parses a query with semantic analysis against declared tables and
 * functions, and reports its diagnostics, result columns and the operators and functions it uses.
 */

/** A column as Kusto names its type: string, int, long, real, bool, datetime, timespan, guid, dynamic. */
export interface KustoColumn {
  readonly name: string;
  readonly type: string;
}

export interface KustoTable {
  readonly name: string;
  readonly columns: readonly KustoColumn[];
}

/** A stored function without parameters (a saved search with a function alias). */
export interface KustoFunction {
  readonly name: string;
  readonly body: string;
}

export interface Diagnostic {
  readonly severity: string;
  readonly code: string;
  readonly message: string;
  /** 1-based line and column of the diagnostic in the query text. */
  readonly line: number;
  readonly column: number;
}

export interface Compiled {
  /** Errors and warnings, as the compiler reports them. */
  readonly diagnostics: readonly Diagnostic[];
  readonly errors: readonly Diagnostic[];
  /** Columns of the query's tabular result, in order. */
  readonly columns: readonly KustoColumn[];
  /** Query operators by syntax kind (`ExtendOperator`, `ProjectOperator`, ...), in source order. */
  readonly operators: readonly string[];
  /** Names of the functions called, in source order. */
  readonly functions: readonly string[];
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the package is Bridge.NET output with untyped globals. */
let kusto: any;

function language(): any {
  if (!kusto) {
    const require = createRequire(import.meta.url);
    // The package defines globals (Bridge, Kusto) when its two scripts are loaded in order.
    require('@kusto/language-service-next/bridge.js');
    require('@kusto/language-service-next/Kusto.Language.Bridge.js');
    kusto = (globalThis as any).Kusto.Language;
  }
  return kusto;
}

function listOf<T>(list: any, map: (item: any) => T): T[] {
  const items: T[] = [];
  for (let i = 0; i < list.Count; i++) items.push(map(list.getItem(i)));
  return items;
}

/** A schema as Kusto's `(name:type, ...)` text; names that are not plain identifiers are bracketed. */
function schemaText(columns: readonly KustoColumn[]): string {
  const quote = (name: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `['${name}']`);
  return `(${columns.map((c) => `${quote(c.name)}:${c.type}`).join(', ')})`;
}

/** Parses and analyzes `query` against a database holding `tables` and `functions`. */
export function compile(query: string, scope: { tables?: readonly KustoTable[]; functions?: readonly KustoFunction[] }): Compiled {
  const K = language();
  const S = K.Symbols;
  const symbols = [
    ...(scope.tables ?? []).map((t) => new S.TableSymbol.$ctor7(t.name, schemaText(t.columns), null)),
    ...(scope.functions ?? []).map((f) => new S.FunctionSymbol.$ctor12(f.name, f.body, S.Tabularity.Tabular, [])),
  ];
  const globals = K.GlobalState.Default.WithDatabase(new S.DatabaseSymbol.$ctor1('workspace', symbols));
  const code = K.KustoCode.ParseAndAnalyze(query, globals);
  const lineStarts = [0];
  for (let i = 0; i < query.length; i++) if (query[i] === '\n') lineStarts.push(i + 1);
  const position = (offset: number) => {
    let line = 0;
    while (line + 1 < lineStarts.length && lineStarts[line + 1]! <= offset) line++;
    return { line: line + 1, column: offset - lineStarts[line]! + 1 };
  };
  const diagnostics = listOf(code.GetDiagnostics(), (d) => ({
    severity: String(d.Severity),
    code: String(d.Code),
    message: String(d.Message),
    ...position(Number(d.Start)),
  }));
  const result = code.ResultType;
  const columns = result?.Columns ? listOf(result.Columns, (c) => ({ name: String(c.Name), type: String(c.Type.Name) })) : [];
  const operators: string[] = [];
  const functions: string[] = [];
  K.Syntax.SyntaxElement.WalkElements(code.Syntax, (element: any) => {
    const kind = String(element.constructor.$$name).replace('Kusto.Language.Syntax.', '');
    if (kind === 'FunctionCallExpression') functions.push(String(element.Name.SimpleName));
    else if (kind.endsWith('Operator')) operators.push(kind);
  });
  return { diagnostics, errors: diagnostics.filter((d) => d.severity === 'Error'), columns, operators, functions };
}

/** Diagnostics as `line:column CODE message` lines, for assertion messages. */
export function describeDiagnostics(diagnostics: readonly Diagnostic[]): string[] {
  return diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`);
}
