import type { StringTable } from '../../src/snapshot/string-table.js';

/** Every string of the table, decoded: for comparing with JSON.parse's array. */
export function allStrings(table: StringTable): string[] {
  return Array.from({ length: table.length }, (_, i) => table.get(i));
}
