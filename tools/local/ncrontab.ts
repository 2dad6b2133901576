import { Cron } from 'croner';

/**
 * The next fire time of a six-field NCRONTAB expression (`second minute hour day month weekday`), as
 * the Functions timer trigger reads them, in UTC (the Functions default). Parsing is croner's, a
 * maintained cron library, in its six-field mode: numbers, `*`, ranges, lists, steps (`*\/n`, `a-b/n`,
 * `a/n`), month names (`Jan`–`Dec`) and day names (`Sun`–`Sat`, so `Mon-Fri`). A day must match both
 * the day-of-month and the day-of-week field, as in the NCrontab library the Functions host uses.
 */
export function nextFire(expression: string, after: number): number {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6) throw new RangeError(`expected 6 NCRONTAB fields (second minute hour day month weekday), got "${expression}"`);
  let schedule: Cron;
  try {
    schedule = new Cron(fields.join(' '), { mode: '6-part', timezone: 'Etc/UTC', domAndDow: true, sloppyRanges: true, paused: true });
  } catch (err) {
    throw new RangeError(`bad NCRONTAB expression "${expression}": ${err instanceof Error ? err.message : String(err)}`);
  }
  const next = schedule.nextRun(new Date(after));
  if (!next) throw new RangeError(`"${expression}" never fires`);
  return next.getTime();
}
