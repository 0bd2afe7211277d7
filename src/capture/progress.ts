import type { CaptureEnding, SnapshotEntry } from '../capture-folder/manifest.js';


/** Progress reports; the library never prints, the CLI turns these into lines. */
export type CaptureProgress =
  | { kind: 'started'; pid: number; argv: string[] }
  | { kind: 'process'; pid: number; argv: string[] }
  | { kind: 'snapshot'; snapshot: SnapshotEntry; expected: number | undefined }
  | { kind: 'note'; message: string }
  | { kind: 'ended'; ending: CaptureEnding };

/** What scenario and command captures share. */
export interface CommonOptions {
  outDir: string;
  onProgress?: (progress: CaptureProgress) => void;
  /** Aborting kills the child (SIGTERM) and ends the capture as "aborted". */
  signal?: AbortSignal;
  /** Environment for the child; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** How often the events file is read, ms (default 100). */
  pollMs?: number;
  /** Stop the child (SIGTERM, then SIGKILL) once it has run this long, ms; 0 or undefined = no limit. The capture ends as "timed-out". */
  timeoutMs?: number;
  /** How long a child stopped by the timeout or an abort gets between SIGTERM and SIGKILL, ms (default 2000). */
  killGraceMs?: number;
}

/** Default time between SIGTERM and SIGKILL when the capture stops a child. */
export const KILL_GRACE_MS = 2000;

