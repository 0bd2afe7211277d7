export { attach, analyzeAttach, attachNotes, type AttachOptions, type AttachProgress, type AttachResult } from './attach.js';
export { AttachInputError } from './errors.js';
export type { AttachManifest, AttachEnding } from '../capture-folder/manifest.js';
export { loopbackHost } from './target.js';
export type { LoopbackHost } from '../capture-folder/manifest.js';
