import { bytesInDecimalUnits } from '../util/bytes.js';

/** The terminal's shorter form of the reports' bytes: whole kilobytes (950 kB, 1.2 MB, 12 B). */
export function formatBytes(bytes: number): string {
  return bytesInDecimalUnits(bytes, 0);
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** cli-table3 style without colours (they are added, if ever, by the caller). */
export const COMPACT = { head: [] as string[], border: [] as string[], compact: true };
