export { captureScenario, type ScenarioCaptureOptions } from './scenario.js';
export { captureCommand, type CommandCaptureOptions } from './command.js';
export { CaptureInputError } from './errors.js';
export type { CaptureManifest, CaptureEnding, ProcessEntry, SnapshotEntry } from '../capture-folder/manifest.js';
export { MANIFEST_FILE } from '../capture-folder/files.js';
export type { CaptureProgress } from './progress.js';
export type { CaptureResult } from './lifecycle.js';
