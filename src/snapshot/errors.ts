/**
 * A structural fault in a snapshot file: the file cannot be turned into a
 * consistent graph. It names the file, what is wrong, the offending value and
 * where it was found, so a user can tell a truncated copy from a bug in the
 * producer without opening a 500 MB file.
 */
export class SnapshotFormatError extends Error {
  override readonly name = 'SnapshotFormatError';

  constructor(
    readonly file: string,
    readonly fault: string,
    readonly detail: { value?: unknown; position?: string } = {},
  ) {
    super(formatMessage(file, fault, detail));
  }
}

function formatMessage(file: string, fault: string, detail: { value?: unknown; position?: string }): string {
  let message = `${file}: ${fault}`;
  if (detail.value !== undefined) message += ` (value ${preview(detail.value)})`;
  if (detail.position !== undefined) message += ` at ${detail.position}`;
  return message;
}

function preview(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A problem that does not stop analysis, e.g. nodes no root reaches. */
export interface SnapshotAnomaly {
  kind: 'unreachable-nodes' | 'unknown-section';
  message: string;
  /** How many times it occurred; the list of examples is capped. */
  count: number;
  examples: number[];
}

/** Collects anomalies of one kind with a cap on the examples kept. */
export class AnomalyLog {
  static readonly maxExamples = 10;
  readonly anomalies: SnapshotAnomaly[] = [];

  add(kind: SnapshotAnomaly['kind'], message: string, example?: number): void {
    let entry = this.anomalies.find((a) => a.kind === kind && a.message === message);
    if (!entry) {
      entry = { kind, message, count: 0, examples: [] };
      this.anomalies.push(entry);
    }
    entry.count++;
    if (example !== undefined && entry.examples.length < AnomalyLog.maxExamples) entry.examples.push(example);
  }
}
