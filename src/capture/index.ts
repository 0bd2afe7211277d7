export { captureScenario, type ScenarioCaptureOptions } from './scenario.js';
export { captureCommand, type CommandCaptureOptions } from './command.js';
export { CaptureInputError } from './errors.js';
export type { CaptureManifest, CaptureEnding, ProcessEntry, SnapshotEntry } from './manifest.js';
export { MANIFEST_FILE } from './protocol.js';
export type { CaptureProgress, CaptureResult } from './session.js';
