/**
 * `--help` / `-h` for the command-line tools: when either is among the arguments, print the help on
 * stdout and exit 0, before any other argument is parsed (so it works next to any other option).
 */
export function exitOnHelp(argv: readonly string[], help: string): void {
  if (!argv.some((a) => a === '--help' || a === '-h')) return;
  process.stdout.write(help.endsWith('\n') ? help : `${help}\n`);
  process.exit(0);
}
