// Pure-JS scenario whose async type names are hostile payloads for every
// report format: HTML/SVG script injection, XML CDATA and entity breaks,
// Markdown table/link/mention syntax, GitHub workflow-command injection,
// control characters (ESC, NUL-like C0, DEL) and a lone surrogate.
// Per iteration: one AsyncResource of each name, never destroyed
// (requireManualDestroy without emitDestroy), so each name leaks 1 per iteration.
import { AsyncResource } from 'node:async_hooks';

export const HOSTILE_NAMES = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(2)>',
  'cdata]]><![CDATA[ & "q" \'a\' &amp;',
  '| md **bold** [x](javascript:alert(3)) @here `tick`',
  'ctl\u0001\u001b[31mred\u007f nl\nrow\r::error::injected %0A',
  'lone\ud800surrogate',
];

export function iteration() {
  for (const name of HOSTILE_NAMES) new AsyncResource(name, { requireManualDestroy: true });
}
