export { attach, analyzeAttach, attachNotes, type AttachOptions, type AttachProgress, type AttachResult } from './attach.js';
export { AttachInputError } from './errors.js';
export type { AttachManifest, AttachEnding } from './manifest.js';
export { loopbackHost, type LoopbackHost } from './target.js';
