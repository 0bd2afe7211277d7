import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { SnapshotInput } from './analyze.js';
import type { MemoryReading } from './result.js';

export class InputError extends Error {
  override readonly name = 'InputError';
}

interface ManifestSnapshot {
  file: string;
  label?: string;
  pid?: number;
  iterations?: number;
  memory?: MemoryReading;
}

/** V8's default snapshot name: Heap.<date>.<time>.<pid>.<thread>.<seq>.heapsnapshot */
const V8_DEFAULT_NAME = /^Heap\.\d+\.\d+\.(\d+)\.\d+\.\d+\.heapsnapshot(\.gz)?$/;

/**
 * Turns the command line's snapshot arguments into an ordered series with
 * labels, iteration counts and pids:
 * - a capture folder (holding manifest.json) stands for its snapshots;
 * - files listed in the manifest beside them take its labels, iterations, pid;
 * - `--iterations n` means n iterations between consecutive snapshots;
 * - V8's default file names carry the pid.
 */
export function resolveSnapshotInputs(args: string[], options: { iterations?: number } = {}): SnapshotInput[] {
  const inputs: SnapshotInput[] = [];
  for (const arg of args) {
    if (arg !== '-' && existsSync(arg) && statSync(arg).isDirectory()) {
      const manifest = readManifest(join(arg, 'manifest.json'));
      if (!manifest) throw new InputError(`${arg}: a folder must be a capture folder with manifest.json`);
      for (const s of mainSeries(manifest.snapshots)) inputs.push(fromManifest(resolve(arg), s));
      continue;
    }
    const manifest = arg === '-' ? undefined : readManifest(join(dirname(arg), 'manifest.json'));
    const listed = manifest?.snapshots.find((s) => basename(s.file) === basename(arg));
    if (listed) inputs.push({ ...fromManifest(dirname(resolve(arg)), listed), file: arg });
    else inputs.push({ file: arg, pid: pidFromName(arg) });
  }
  if (inputs.length < 2) throw new InputError(`need at least 2 snapshots to compare (got ${inputs.length})`);
  if (options.iterations !== undefined) {
    inputs.forEach((input, i) => { input.iterations = i * options.iterations!; });
  } else if (inputs.some((input) => input.iterations === undefined)) {
    for (const input of inputs) delete input.iterations;
  }
  return inputs;
}

function fromManifest(folder: string, s: ManifestSnapshot): SnapshotInput {
  return { file: join(folder, s.file), label: s.label, iterations: s.iterations, pid: s.pid, memory: s.memory };
}

/** In command mode several processes write snapshots: take the one with the most. */
function mainSeries(snapshots: ManifestSnapshot[]): ManifestSnapshot[] {
  const byPid = new Map<number | undefined, ManifestSnapshot[]>();
  for (const s of snapshots) byPid.set(s.pid, [...(byPid.get(s.pid) ?? []), s]);
  return [...byPid.values()].sort((a, b) => b.length - a.length)[0] ?? [];
}

function readManifest(path: string): { snapshots: ManifestSnapshot[] } | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { snapshots?: ManifestSnapshot[] };
    return Array.isArray(parsed.snapshots) ? { snapshots: parsed.snapshots } : undefined;
  } catch {
    throw new InputError(`${path}: not a valid capture manifest`);
  }
}

function pidFromName(file: string): number | undefined {
  const match = V8_DEFAULT_NAME.exec(basename(file));
  return match ? Number(match[1]) : undefined;
}
