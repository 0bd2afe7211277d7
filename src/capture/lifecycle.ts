import { accessSync, constants, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { clearFolder, EVENTS_FILE, MANIFEST_FILE, removeTemporaryFiles } from '../capture-folder/files.js';
import { readManifest, writeManifest, type CaptureManifest, type FolderManifest } from '../capture-folder/manifest.js';
import { writeFailure } from './disk-full.js';
import { CaptureInputError } from './errors.js';
import { toolVersion } from './version.js';
import { isVirtualFileSystem } from '../util/virtual-fs.js';

/**
 * The one lifecycle every capture goes through — scenario mode, command mode
 * and attach — each supplying only how its snapshots are taken:
 *
 *   checkCaptureFolder   before anything runs (or is signalled): can the folder be made?
 *   openCaptureFolder    create it, clear an earlier capture out of it, write the first manifest
 *   … snapshots, each followed by writeManifest (capture-folder/manifest.ts) …
 *   finishCapture        temporary files removed, the ending recorded, the last manifest written
 */

/** What a capture returns: how it went, and the manifest it wrote. */
export interface CaptureResult<M extends FolderManifest = CaptureManifest> {
  /** True when the capture did what was asked (see endedNormally). */
  ok: boolean;
  /** One line: why it did not, for the CLI to print. */
  failure: string | undefined;
  manifest: M;
  manifestPath: string;
  /** Absolute paths of all snapshots, in the order they were written. */
  snapshotFiles: string[];
}

/**
 * An output folder that exists, or can be made: the nearest existing
 * ancestor must be a writable folder. Checked before a child starts or a
 * target is signalled; nothing is created.
 */
export function checkCaptureFolder(outDir: string): string {
  const absolute = resolve(outDir);
  for (let path = absolute; ; path = dirname(path)) {
    let stats;
    try {
      stats = statSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && dirname(path) !== path) continue;
      throw new CaptureInputError(`cannot create output folder ${outDir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (!stats.isDirectory()) throw new CaptureInputError(path === absolute ? `output path ${outDir} is not a folder` : `cannot create output folder ${outDir}: ${path} is not a folder`);
    if (isVirtualFileSystem(path)) throw new CaptureInputError(`cannot create output folder ${outDir}: ${path} is a virtual file system (proc or sysfs)`);
    try {
      accessSync(path, constants.W_OK);
    } catch {
      throw new CaptureInputError(`cannot create output folder ${outDir}: ${path} is not writable`);
    }
    return absolute;
  }
}

/**
 * Creates the checked folder (one level at a time: Node 20's recursive
 * mkdirSync never returns for a path under /proc), clears an earlier
 * capture out of it and writes the first manifest. A failure here (a full
 * disk, a read-only folder) is a CaptureInputError: nothing has started yet.
 */
export function openCaptureFolder(manifest: FolderManifest): void {
  const outDir = manifest.outDir;
  try {
    const missing: string[] = [];
    for (let p = outDir; !existsSync(p) && dirname(p) !== p; p = dirname(p)) missing.unshift(p);
    for (const p of missing) mkdirSync(p);
    clearFolder(outDir, readManifest(outDir));
    writeManifest(manifest);
  } catch (error) {
    throw new CaptureInputError(`cannot write ${join(outDir, MANIFEST_FILE)}: ${writeFailure(error)}`);
  }
}

/** The manifest of a scenario or command capture that is starting. */
export function newManifest(mode: CaptureManifest['mode'], outDir: string, extra: Pick<CaptureManifest, 'scenario' | 'command' | 'timeoutMs'>): CaptureManifest {
  return {
    schemaVersion: 1,
    tool: { name: 'napi-heapdiff', version: toolVersion() },
    mode,
    status: 'running',
    outDir,
    ...extra,
    node: { version: process.version, execPath: process.execPath },
    startedAt: new Date().toISOString(),
    endedAt: null,
    durationMs: null,
    ended: { how: 'running', exitCode: null, signal: null },
    processes: [],
    snapshots: [],
  };
}

/**
 * A capture that did what was asked: every snapshot taken (the scenario ran
 * every phase, the attach wrote all k), or the command exited 0 — or was
 * stopped by the --timeout the user gave, the normal way to end a program
 * that never exits by itself (a server). Its snapshots are then analysed
 * like any others.
 */
export function endedNormally(manifest: FolderManifest, how: string): boolean {
  return how === 'completed' || (manifest.mode === 'command' && how === 'timed-out');
}

/**
 * Ends the manifest: temporary files removed (in the folder and the process
 * folders), the ending, status, times and notes recorded, the manifest
 * written. When that write fails (a full disk) the previous manifest stays on
 * disk and the result says so instead of throwing.
 */
export function finishCapture<M extends FolderManifest>(manifest: M, ending: M['ended'], notes: string[], writeError?: NodeJS.ErrnoException): CaptureResult<M> {
  const outDir = manifest.outDir;
  const removed = removeTemporaryFiles(outDir);
  for (const entry of manifest.processes) if (entry.folder) removed.push(...removeTemporaryFiles(join(outDir, entry.folder)));
  if (removed.length > 0) notes.push(`removed ${removed.length} unfinished temporary file(s)`);
  if (writeError) notes.push(`${MANIFEST_FILE} could not be updated while the capture ran (${writeError.code ?? writeError.message.split('\n')[0]})`);
  manifest.ended = ending;
  manifest.status = endedNormally(manifest, ending.how) ? 'completed' : 'failed';
  manifest.endedAt = new Date().toISOString();
  manifest.durationMs = Date.parse(manifest.endedAt) - Date.parse(manifest.startedAt);
  if (notes.length > 0) manifest.notes = notes;
  // The events file first: on a full disk every freed byte helps the manifest through.
  rmSync(join(outDir, EVENTS_FILE), { force: true });
  let failure = manifest.status === 'completed' ? undefined : (ending.message ?? ending.how);
  try {
    writeManifest(manifest);
  } catch (error) {
    const cannot = `cannot update ${join(outDir, MANIFEST_FILE)}: ${writeFailure(error)}; the one on disk is the last complete version`;
    failure = failure && ending.how === 'disk-full' ? `${failure}; ${MANIFEST_FILE} could not be updated either` : failure ? `${failure}; ${cannot}` : cannot;
    manifest.status = 'failed';
  }
  return {
    ok: failure === undefined,
    failure,
    manifest,
    manifestPath: join(outDir, MANIFEST_FILE),
    snapshotFiles: manifest.snapshots.map((s) => join(outDir, ...s.file.split('/'))),
  };
}
