/** A mistake in how the tool was called; the CLI prints its message and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A flag or argument that must be a whole number; anything else is a usage error. */
export function wholeNumber(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${flag} must be a whole number (got "${text}")`);
  return Number(text);
}

/** A count that must be 1 or more (`--top`). */
export function positiveWholeNumber(text: string, flag: string): number {
  const n = wholeNumber(text, flag);
  if (n < 1) throw new UsageError(`${flag} must be 1 or more (got "${text}")`);
  return n;
}
