/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and says where the time went: self time per
 * function and per area (a package in node_modules, a project folder, or Node's internals).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Self time by function, largest first. */
  readonly functions: readonly { readonly name: string; readonly where: string; readonly ms: number }[];
  /** Self time by area, largest first. */
  readonly areas: readonly { readonly area: string; readonly ms: number }[];
}

/** Summarizes one profile; `root` is stripped from project paths. */
export function summarizeProfile(file: string, root: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const functions = new Map<string, { name: string; where: string; ms: number }>();
  const areas = new Map<string, number>();
  let totalMs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const ms = us / 1000;
    totalMs += ms;
    const path = url.startsWith('file://') ? fileURLToPath(url) : url;
    // Code loaded through tsx reports line 0 for everything; a line is only worth printing when it is real.
    const where = path ? `${path.replace(root, '')}${lineNumber > 0 ? `:${lineNumber + 1}` : ''}` : '(native)';
    const key = `${functionName}|${where}`;
    const entry = functions.get(key) ?? { name: functionName || '(anonymous)', where, ms: 0 };
    entry.ms += ms;
    functions.set(key, entry);
    const area = areaOf(path, root, functionName);
    areas.set(area, (areas.get(area) ?? 0) + ms);
  }
  return {
    totalMs,
    functions: [...functions.values()].sort((a, b) => b.ms - a.ms),
    areas: [...areas.entries()].map(([area, ms]) => ({ area, ms })).sort((a, b) => b.ms - a.ms),
  };
}

/** `@azure/core-amqp`, `rhea`, `shared/core`, `node:internal`, or V8's own buckets like `(garbage collector)`. */
function areaOf(path: string, root: string, functionName: string): string {
  if (!path) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return pkg[1]!;
  if (path.startsWith('node:')) return path.split('/').slice(0, 2).join('/');
  const rel = path.replace(root, '');
  return rel.split('/').slice(0, 2).join('/');
}
