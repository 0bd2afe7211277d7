/**
 * Colour on a terminal, never when NO_COLOR is set to anything non-empty
 * (no-color.org) or TERM is "dumb"; FORCE_COLOR decides over the terminal
 * test as in Node and most CLIs: "0" or "false" turns colour off, any other
 * value turns it on in logs and pipes too.
 */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  return stream.isTTY === true && env.TERM !== 'dumb';
}
