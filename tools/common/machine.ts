/** What a measurement ran on: the machine, and the code it exercised. Both go into the reports. */
import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem, type as osType } from 'node:os';
import { REPO_ROOT } from './ipc.js';
import { formatFixed } from './stats.js';

/** CPU model, logical cores, RAM, Node version and kernel. */
export function describeMachine(): string {
  const cpu = cpus();
  return `${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} logical cores, ${formatFixed(totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}, ${osType()} ${release()}`;
}

/** The commit, and any uncommitted change to the code that runs (shared/, functions/): the figures belong to that state. */
export function describeCode(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' });
    // Porcelain lines are "XY path": two status letters and a space before the path.
    const changed = git('status', '--porcelain', '--', 'shared', 'functions').split('\n').filter(Boolean).map((line) => line.slice(3));
    return `commit ${git('rev-parse', '--short', 'HEAD').trim()}${changed.length ? ` with uncommitted changes to ${changed.join(', ')}` : ''}`;
  } catch {
    return 'not a git checkout';
  }
}
