import { contextFrame } from './context-frame.js';
import { internalAsyncResource } from './internal-async-resource.js';
import { nodeHandle } from './node-handle.js';
import { reference } from './reference.js';
import type { HandleRule } from './rule.js';
import { weakHandle } from './weak-handle.js';

/** The order global-handle edges are classified in: first answer wins. */
export const HANDLE_RULES: readonly HandleRule[] = [weakHandle, internalAsyncResource, contextFrame, nodeHandle, reference];

export type { HandleClassification, HandleContext, HandleRule } from './rule.js';
export { CONTEXT_FRAMES } from './context-frame.js';
export { UNNAMED_ASYNC_RESOURCE } from './internal-async-resource.js';
