import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { MANIFEST_FILE } from '../capture-folder/files.js';
import { readManifest, type FolderManifest, type SnapshotEntry } from '../capture-folder/manifest.js';
import type { SnapshotInput } from './analyze.js';

export class InputError extends Error {
  override readonly name = 'InputError';
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
 * Inputs from a capture folder carry the manifest read here, so the analysis
 * finds the folder's ledger without reading it again.
 */
export function resolveSnapshotInputs(args: string[], options: { iterations?: number } = {}): SnapshotInput[] {
  const inputs: SnapshotInput[] = [];
  const manifests = new Map<string, FolderManifest | undefined>();
  const manifestOf = (folder: string): FolderManifest | undefined => {
    if (!manifests.has(folder)) manifests.set(folder, readCaptureManifest(folder));
    return manifests.get(folder);
  };
  for (const arg of args) {
    if (arg !== '-' && existsSync(arg) && statSync(arg).isDirectory()) {
      const manifest = manifestOf(resolve(arg));
      if (!manifest) throw new InputError(`${arg}: a folder must be a capture folder with ${MANIFEST_FILE}`);
      inputs.push(...captureInputs(resolve(arg), manifest));
      continue;
    }
    const folder = arg === '-' ? undefined : resolve(dirname(arg));
    const manifest = folder === undefined ? undefined : manifestOf(folder);
    const listed = manifest?.snapshots.find((s) => basename(s.file) === basename(arg));
    if (listed) inputs.push({ ...fromManifest(folder!, manifest!, listed), file: arg });
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

/**
 * The series of a capture folder whose manifest the caller holds (a capture
 * or an attach that just ended): in command mode several processes write
 * snapshots, and the one with the most is taken.
 */
export function captureInputs(folder: string, manifest: FolderManifest): SnapshotInput[] {
  const byPid = new Map<number | undefined, SnapshotEntry[]>();
  for (const s of manifest.snapshots) byPid.set(s.pid, [...(byPid.get(s.pid) ?? []), s]);
  const main = [...byPid.values()].sort((a, b) => b.length - a.length)[0] ?? [];
  return main.map((s) => fromManifest(folder, manifest, s));
}

function fromManifest(folder: string, manifest: FolderManifest, s: SnapshotEntry): SnapshotInput {
  return { file: join(folder, s.file), label: s.label, iterations: s.iterations, pid: s.pid, memory: s.memory, capture: { folder, manifest }, ...(s.nativeLedger ? { nativeLedger: join(folder, s.nativeLedger) } : {}) };
}

/** A folder's manifest.json: undefined when there is none; an InputError when it is there but unreadable. */
function readCaptureManifest(folder: string): FolderManifest | undefined {
  if (!existsSync(join(folder, MANIFEST_FILE))) return undefined;
  const manifest = readManifest(folder);
  if (!manifest || !Array.isArray(manifest.snapshots)) throw new InputError(`${join(folder, MANIFEST_FILE)}: not a valid capture manifest`);
  return manifest;
}

function pidFromName(file: string): number | undefined {
  const match = V8_DEFAULT_NAME.exec(basename(file));
  return match ? Number(match[1]) : undefined;
}
