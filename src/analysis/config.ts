import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Budgets } from './budget.js';

/** The config file looked for in the working directory. */
export const CONFIG_FILE_NAME = 'napi-heapdiff.config.json';

/**
 * A config file that cannot be used. The message is one line and names the
 * file and the bad key: `napi-heapdiff.config.json: budgets["x"] must be a number ≥ 0 (got "1")`.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    /** The key at fault, e.g. `budgets["x"]`; empty for the file as a whole. */
    readonly key: string,
    problem: string,
  ) {
    super(`${file}: ${key ? `${key} ` : ''}${problem}`);
  }
}

const KEYS = ['budgets', 'ignore'] as const;

/**
 * Parses and validates a config file's text:
 *
 *   { "budgets": { "<name>": <maxPerIteration ≥ 0>, ... }, "ignore": ["<name>", ...] }
 *
 * Both keys are optional; any other key is an error (a misspelt key would
 * otherwise silently do nothing).
 *
 * @example parseConfig('{"budgets":{"my_work":0.5},"ignore":["noisy"]}', 'napi-heapdiff.config.json')
 */
export function parseConfig(text: string, file: string): Budgets {
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\ufeff/, ''));
  } catch (error) {
    throw new ConfigError(file, '', `is not valid JSON (${firstLine((error as Error).message)})`);
  }
  if (!isObject(data)) throw new ConfigError(file, '', `must hold a JSON object with "budgets" and/or "ignore" (got ${describe(data)})`);
  for (const key of Object.keys(data)) {
    if (!(KEYS as readonly string[]).includes(key)) throw new ConfigError(file, quoteKey(key), `is not a known key (known: ${KEYS.join(', ')})`);
  }

  const maxPerIteration = new Map<string, number>();
  const budgets = data.budgets;
  if (budgets !== undefined) {
    if (!isObject(budgets)) throw new ConfigError(file, 'budgets', `must be an object of "<name>": <max per iteration> (got ${describe(budgets)})`);
    for (const [name, max] of Object.entries(budgets)) {
      const key = `budgets[${JSON.stringify(name)}]`;
      if (name === '') throw new ConfigError(file, key, 'has an empty name');
      if (typeof max !== 'number' || !Number.isFinite(max) || max < 0) throw new ConfigError(file, key, `must be a number ≥ 0 (got ${describe(max)})`);
      maxPerIteration.set(name, max);
    }
  }

  const ignore = new Set<string>();
  if (data.ignore !== undefined) {
    if (!Array.isArray(data.ignore)) throw new ConfigError(file, 'ignore', `must be an array of names (got ${describe(data.ignore)})`);
    for (const [i, name] of (data.ignore as unknown[]).entries()) {
      if (typeof name !== 'string' || name === '') throw new ConfigError(file, `ignore[${i}]`, `must be a non-empty string (got ${describe(name)})`);
      ignore.add(name);
    }
  }
  return { maxPerIteration, ignore };
}

/** Reads and validates a config file; a missing or unreadable file is a ConfigError too. */
export function readConfig(file: string): Budgets {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(file, '', code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? firstLine((error as Error).message)})`);
  }
  return parseConfig(text, file);
}

/** The config file of a directory (`napi-heapdiff.config.json`), when there is one. */
export function findConfig(dir: string): string | undefined {
  const file = join(dir, CONFIG_FILE_NAME);
  return existsSync(file) ? file : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function quoteKey(key: string): string {
  return JSON.stringify(key);
}

/** A short, one-line, escaped rendering of a JSON value for messages. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!;
}
