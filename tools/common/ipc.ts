/**
 * Child processes for the benchmark and the soak run: a TypeScript script started under tsx's loader
 * (one process, so a SIGKILL hits the script itself, not a launcher), and a small request/response
 * protocol over Node's IPC channel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: children run from here, so relative paths mean the same in every process. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const TSX_LOADER = import.meta.resolve('tsx');

type Request = { id: number; command: string; args?: unknown };
type Reply = { id: number; result?: unknown; error?: string };
/** A message the child sends on its own (not a reply), e.g. progress for the soak run. */
export type Notice = { notice: string; [field: string]: unknown };

export interface TsChild {
  readonly process: ChildProcess;
  /** Resolves once the child's handlers listen. */
  readonly ready: Promise<void>;
  /** Sends a command and resolves with the child's result (rejects with its error, or when it exits). */
  call<T>(command: string, args?: unknown): Promise<T>;
  /** Resolves with the exit code or signal once the child is gone. */
  readonly exited: Promise<string>;
}

export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Extra node flags (`--expose-gc`, `--cpu-prof`, ...). */
  readonly nodeArgs?: readonly string[];
  readonly onNotice?: (notice: Notice) => void;
  /** Where the child's stdout and stderr go: a file descriptor, or (default) this process's own. */
  readonly outputFd?: number;
}

/**
 * Starts `script` (a .ts path from the repository root) compiled to JavaScript (tools/cli/buildOnDemand.mjs),
 * as a child with an IPC channel: no tsx loader in the child, which is how the Functions host runs the
 * code (compiled), and without tsx's own 45 MiB in a memory measurement.
 */
export async function spawnCompiled(script: string, options: SpawnOptions = {}): Promise<TsChild> {
  const { compiledEntry } = (await import('../cli/buildOnDemand.mjs' as string)) as { compiledEntry: (entry: string) => Promise<string> };
  return spawnTs(script, options, await compiledEntry(script));
}

/** Starts `script` (a path from the repository root) as a child with an IPC channel. */
export function spawnTs(script: string, options: SpawnOptions = {}, compiled?: string): TsChild {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...(compiled ? [compiled] : ['--import', TSX_LOADER, script])], {
    cwd: REPO_ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', options.outputFd ?? 'inherit', options.outputFd ?? 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  let nextId = 0;
  let signalReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      const how = signal ?? `code ${code}`;
      for (const { reject } of pending.values()) reject(new Error(`${script} exited (${how}) before answering`));
      pending.clear();
      resolve(how);
    });
  });
  child.on('message', (message: Reply | Notice) => {
    if ('notice' in message) {
      if (message.notice === 'ready') signalReady();
      else options.onNotice?.(message);
      return;
    }
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error !== undefined) waiter.reject(new Error(`${script}: ${message.error}`));
    else waiter.resolve(message.result);
  });
  return {
    process: child,
    ready: Promise.race([ready, exited.then((how) => Promise.reject(new Error(`${script} exited (${how}) before it was ready`)))]),
    exited,
    call<T>(command: string, args?: unknown): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, command, args } satisfies Request);
      });
    },
  };
}

/** Child side: answers the parent's commands with `handlers`, then says it is ready. Exits when the parent goes away. */
export function serveCommands(handlers: Record<string, (args: never) => Promise<unknown>>): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('this script runs as a child process of tools/bench or tools/soak (it needs an IPC channel)');
  process.on('message', (message: Request) => {
    const handler = handlers[message.command];
    const run = handler ? handler(message.args as never) : Promise.reject(new Error(`unknown command ${message.command}`));
    run.then(
      (result) => send({ id: message.id, result } satisfies Reply),
      (err: unknown) => send({ id: message.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies Reply),
    );
  });
  process.once('disconnect', () => process.exit(0));
  send({ notice: 'ready' } satisfies Notice);
}

/** Child side: a message the parent did not ask for. */
export function notify(notice: Notice): void {
  process.send?.(notice);
}
