/** Bytes as a short human number: 1.2 MB, 950 kB, 12 B (decimal units, like DevTools). */
export function formatBytes(bytes: number): string {
  const abs = Math.abs(bytes);
  if (abs >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (abs >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (abs >= 1e3) return `${(bytes / 1e3).toFixed(0)} kB`;
  return `${bytes} B`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** cli-table3 style without colours (they are added, if ever, by the caller). */
export const COMPACT = { head: [] as string[], border: [] as string[], compact: true };
