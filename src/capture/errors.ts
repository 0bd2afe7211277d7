/**
 * A capture that cannot start because of what it was asked: a missing
 * scenario module, a bad number, an output path that is a file. The CLI
 * prints the message (one line) and exits 2.
 */
export class CaptureInputError extends Error {
  override readonly name = 'CaptureInputError';
}

/** A whole number ≥ minimum, or a CaptureInputError naming the option. */
export function checkNonNegativeInteger(value: number, what: string, minimum: number): void {
  if (!Number.isInteger(value) || value < minimum) throw new CaptureInputError(`${what} must be an integer ≥ ${minimum} (got ${value})`);
}

