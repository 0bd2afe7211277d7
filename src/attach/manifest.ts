import { join } from 'node:path';
import type { CaptureEnding, CaptureManifest } from '../capture/manifest.js';
import { MANIFEST_FILE } from '../capture/protocol.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { AgentStatus } from './remote-agent.js';
import type { LoopbackHost } from './target.js';

/**
 * manifest.json of an attach: the capture manifest (schema version 1, the
 * same fields, read by `diff <folder>` the same way) with mode "attach", an
 * `attach` block instead of `scenario`/`command`, and endings of its own.
 * `node` is the target's Node.js; `processes` holds the target alone.
 */
export interface AttachManifest extends Omit<CaptureManifest, 'mode' | 'scenario' | 'command' | 'ended' | 'output'> {
  mode: 'attach';
  attach: {
    pid: number;
    /** Where its inspector answered (always loopback). */
    host: LoopbackHost;
    port: number;
    /** "opened": by this attach (SIGUSR1); "already-open": it was open before (--inspect, --port, inspector.open()). */
    inspector: 'opened' | 'already-open';
    /** The inspector was closed again at the end (only one this attach opened is closed). */
    inspectorClosed: boolean;
    /** "injected": installed by --inject-agent (sees contexts created after `agentInjectedAt` only); "preloaded": it ran with the agent; "none". */
    agent: AgentStatus;
    agentInjectedAt: string | null;
    /** The injected agent's hook was disabled again when detaching. */
    agentRemoved: boolean;
    /** Snapshots asked for, and ms between the starts of two. */
    snapshots: number;
    intervalMs: number;
  };
  ended: AttachEnding;
}

export interface AttachEnding extends Omit<CaptureEnding, 'how' | 'phase' | 'iteration'> {
  how:
    | 'running'
    /** Every snapshot written, the target still running. */
    | 'completed'
    /** The target exited during the capture (its exit code is not known to a process that did not start it). */
    | 'exited'
    /** The inspector connection closed while the target kept running (inspector.close() in it, another tool). */
    | 'disconnected'
    /** Interrupted (SIGINT/SIGTERM to the CLI, or the caller's AbortSignal). */
    | 'aborted'
    /** A write into the output folder failed with ENOSPC/EDQUOT; the snapshots written before are kept. */
    | 'disk-full'
    /** A snapshot or another protocol step failed; `message` says which. */
    | 'failed';
}

export function writeAttachManifest(manifest: AttachManifest): void {
  writeFileAtomic(join(manifest.outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}
