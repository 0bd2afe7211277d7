#!/usr/bin/env node
import { relaunchWithHugePages } from './huge-pages.js';

/**
 * The `napi-heapdiff` bin. A big analysis may first start itself again with
 * transparent huge pages (huge-pages.ts); the command line itself is
 * program.ts, loaded only when this process is the one that runs it.
 */
if (!(await relaunchWithHugePages(process.argv))) await import('./program.js');
