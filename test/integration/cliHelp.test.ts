import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

// Every operator command answers --help with its usage on stdout and exit code 0, whatever else is on the line.
const COMMANDS: ReadonlyArray<readonly [string, string, RegExp]> = [
  ['ops', 'tools/cli/ops.ts', /^npm run ops -- <command>/],
  ['local', 'tools/local/local.ts', /^npm run local -- \[options\]/],
  ['normalize', 'tools/cli/normalize.ts', /^usage: npm run --silent normalize/],
  ['bench', 'tools/bench/run.ts', /^npm run bench -- /],
  ['soak', 'tools/soak/run.ts', /^npm run soak -- /],
  ['sim', 'tools/standins/simTenant/cli.ts', /^npm run sim -- /],
  ['package', 'tools/cli/package.ts', /^npm run package /],
  ['event hub broker', 'tools/standins/eventHubBroker/cli.ts', /^usage: tsx tools\/standins\/eventHubBroker\/cli\.ts/],
  ['local CA', 'tools/local/localPki.ts', /^tsx tools\/local\/localPki\.ts/],
];

describe('--help on every command', () => {
  it.each(COMMANDS)('%s', async (_name, file, usage) => {
    for (const args of [['--help'], ['-h'], ['--quiet', '--help']]) {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', file, ...args], { env: { PATH: process.env.PATH } });
      expect(stdout, `${file} ${args.join(' ')}`).toMatch(usage);
    }
  });

  it('through the npm script, with its trust bundle', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'local', '--', '--help'], { env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    expect(stdout).toMatch(/^npm run local -- \[options\]/);
    expect(stdout).toContain('--persist');
  });
});
