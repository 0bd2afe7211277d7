/**
 * Colour only on a terminal, and never when NO_COLOR is set to anything
 * non-empty (no-color.org) or TERM is "dumb": logs and pipes get plain text.
 */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}
