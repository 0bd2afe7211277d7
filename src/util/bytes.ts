/** Bytes in decimal units, like DevTools: 950 B, 6.2 kB, 1.4 MB, 2.10 GB (`kilobyteDigits` decimals below a MB). */
export function bytesInDecimalUnits(bytes: number, kilobyteDigits: number): string {
  const abs = Math.abs(bytes);
  if (abs >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (abs >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (abs >= 1e3) return `${(bytes / 1e3).toFixed(kilobyteDigits)} kB`;
  return `${bytes} B`;
}

/** The same with a sign when positive: +1.2 kB, 0 B, -950 B. */
export function signedBytesInDecimalUnits(bytes: number, kilobyteDigits: number): string {
  const text = bytesInDecimalUnits(bytes, kilobyteDigits);
  return bytes > 0 ? `+${text}` : text;
}
