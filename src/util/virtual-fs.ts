import { statfsSync } from 'node:fs';

/** proc and sysfs magic numbers (statfs f_type). */
const VIRTUAL_FILE_SYSTEMS = new Set([0x9fa0, 0x62656572]);

/**
 * Whether a folder is on proc or sysfs: root may "write" there, but no file
 * or folder can be made (and Node 20's recursive mkdir spins on them).
 */
export function isVirtualFileSystem(folder: string): boolean {
  try {
    return VIRTUAL_FILE_SYSTEMS.has(statfsSync(folder).type);
  } catch {
    return false;
  }
}
