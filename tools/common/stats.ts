/**
 * Pure helpers for the benchmark and soak reports: a median, number formatting, Markdown tables, and
 * replacing a generated block inside a hand-written document.
 */

/** The median of a non-empty list (the mean of the middle two for an even count); robust to one slow outlier run. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A whole number with thousands separators: 12345 → "12,345". */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** A number with `digits` decimals and thousands separators. */
export function formatFixed(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Bytes in MiB with one decimal: 104857600 → "100.0". */
export function formatMiB(bytes: number): string {
  return formatFixed(bytes / 2 ** 20, 1);
}

/** A GitHub-flavoured Markdown table; every row must have one cell per header. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  for (const row of rows) {
    if (row.length !== headers.length) throw new RangeError(`a row has ${row.length} cells for ${headers.length} headers`);
  }
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * Replaces the text between `<!-- name:start -->` and `<!-- name:end -->` in `document`, keeping the
 * markers and everything outside them, so prose around generated figures survives a rerun. Throws when
 * the markers are missing or out of order, rather than appending somewhere unexpected.
 */
export function replaceBlock(document: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from < 0 || to < 0 || to < from) throw new Error(`the document has no "${start}" … "${end}" block`);
  return `${document.slice(0, from + start.length)}\n${content.trim()}\n${document.slice(to)}`;
}
