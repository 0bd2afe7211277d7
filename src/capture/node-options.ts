/**
 * NODE_OPTIONS with `--require <path>` appended. Node splits NODE_OPTIONS at
 * spaces and honours double quotes with backslash escapes inside them, so a
 * path with spaces, quotes or backslashes is quoted.
 *
 * @example
 *   appendRequire('--max-old-space-size=4096', '/opt/my tools/agent.cjs')
 *   // '--max-old-space-size=4096 --require "/opt/my tools/agent.cjs"'
 */
export function appendRequire(nodeOptions: string | undefined, path: string): string {
  const option = `--require ${quoteNodeOption(path)}`;
  const existing = nodeOptions?.trim() ?? '';
  return existing === '' ? option : `${existing} ${option}`;
}

export function quoteNodeOption(value: string): string {
  if (value !== '' && !/[\s"'\\]/.test(value)) return value;
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
