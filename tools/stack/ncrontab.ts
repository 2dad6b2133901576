/**
 * The next fire time of a six-field NCRONTAB expression (`second minute hour day month weekday`), as
 * the Functions timer trigger uses them. Supports `*`, numbers, ranges `a-b`, steps `*\/n` and `a-b/n`,
 * and lists. Times are UTC (the Functions default).
 */
export function nextFire(expression: string, after: number): number {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6) throw new RangeError(`expected 6 NCRONTAB fields, got "${expression}"`);
  const [sec, min, hour, day, month, weekday] = fields.map((f, i) => parseField(f!, RANGES[i]!));
  let t = Math.floor(after / 1000) * 1000 + 1000;
  // A year of seconds is the longest a valid schedule can wait; walk coarse units first to stay fast.
  const limit = after + 366 * 86_400_000;
  while (t <= limit) {
    const d = new Date(t);
    if (!month!.has(d.getUTCMonth() + 1)) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      continue;
    }
    if (!day!.has(d.getUTCDate()) || !weekday!.has(d.getUTCDay())) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
      continue;
    }
    if (!hour!.has(d.getUTCHours())) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
      continue;
    }
    if (!min!.has(d.getUTCMinutes())) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes() + 1);
      continue;
    }
    if (!sec!.has(d.getUTCSeconds())) {
      t += 1000;
      continue;
    }
    return t;
  }
  throw new RangeError(`"${expression}" never fires`);
}

const RANGES: ReadonlyArray<readonly [number, number]> = [
  [0, 59],
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 6],
];

function parseField(field: string, [lo, hi]: readonly [number, number]): Set<number> {
  const values = new Set<number>();
  for (const part of field.split(',')) {
    const m = /^(\*|\d+(?:-\d+)?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new RangeError(`bad NCRONTAB field "${field}"`);
    const step = m[2] ? Number(m[2]) : 1;
    let from = lo;
    let to = hi;
    if (m[1] !== '*') {
      const [a, b] = m[1]!.split('-').map(Number) as [number, number | undefined];
      from = a;
      // `a/n` runs from a to the end of the range; a bare `a` is just a.
      to = b ?? (m[2] ? hi : a);
    }
    if (from < lo || to > hi || from > to || step < 1) throw new RangeError(`NCRONTAB field "${field}" is out of range ${lo}-${hi}`);
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}
