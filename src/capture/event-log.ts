import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { ChildEvent } from './protocol.js';

/**
 * Reads the JSON lines that child processes append to the events file, from
 * where the last read stopped. A line still being written (no newline yet)
 * waits for the next read; lines that do not parse are counted and skipped.
 */
export class EventLog {
  private offset = 0;
  private pending = '';
  malformedLines = 0;

  constructor(readonly path: string) {}

  /** Complete events written since the last call. */
  read(): ChildEvent[] {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return [];
    }
    const chunks: string[] = [];
    try {
      const size = fstatSync(fd).size;
      const buffer = Buffer.allocUnsafe(64 * 1024);
      while (this.offset < size) {
        const n = readSync(fd, buffer, 0, buffer.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        chunks.push(buffer.toString('latin1', 0, n));
      }
    } finally {
      closeSync(fd);
    }
    if (chunks.length === 0) return [];
    // latin1 keeps bytes 1:1, so a UTF-8 sequence split across reads survives; decode per line.
    const text = this.pending + chunks.join('');
    const lines = text.split('\n');
    this.pending = lines.pop()!;
    const events: ChildEvent[] = [];
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        const event = JSON.parse(Buffer.from(line, 'latin1').toString('utf8')) as ChildEvent;
        if (event && typeof event === 'object' && typeof event.event === 'string') events.push(event);
        else this.malformedLines++;
      } catch {
        this.malformedLines++;
      }
    }
    return events;
  }
}
