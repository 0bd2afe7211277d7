/**
 * Escaping for every report format. Every string that comes from a snapshot
 * (async type names, class names, strings, script paths, edge names, labels)
 * is untrusted: it may hold markup, format syntax, control characters, lone
 * surrogates or bidirectional overrides. Each function here is pure and is
 * tested on its own with hostile inputs.
 *
 * All of them start from {@link visible}, so what one format shows the others
 * show too.
 */

/** Code units that no report shows as they are (see {@link visible}). */
const INVISIBLE =
  /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The replacement shown for a lone surrogate, a C1 control, a bidi control or U+FFFE/U+FFFF. */
export const REPLACEMENT = '\ufffd';

/**
 * Makes text safe to show in any format, visibly: C0 controls become their
 * Unicode control pictures (U+0001 → ␁, ESC → ␛, LF → ␊), DEL becomes ␡, and
 * C1 controls, lone surrogates, bidirectional embeddings/overrides/isolates
 * and the non-characters U+FFFE/U+FFFF become U+FFFD. Well-formed surrogate
 * pairs (emoji) are kept. `keep` names C0 characters to pass through as they
 * are (e.g. "\n" for text the caller breaks into lines itself).
 *
 * The result is valid in XML 1.0 and holds no terminal escape sequences.
 *
 * @example visible('a\u001b[31mb\ud800') // 'a␛[31mb\ufffd'
 */
export function visible(text: string, keep = ''): string {
  return text.replace(INVISIBLE, (c) => {
    const code = c.charCodeAt(0);
    if (code < 0x20) return keep.includes(c) ? c : String.fromCharCode(0x2400 + code);
    if (code === 0x7f) return '\u2421';
    return REPLACEMENT;
  });
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text for HTML (element content or a double- or single-quoted attribute
 * value, including inline SVG): `& < > " '` become references, and
 * {@link visible} handles control characters and lone surrogates.
 *
 * @example escapeHtml('<img src=x onerror=alert(1)>') // '&lt;img src=x onerror=alert(1)&gt;'
 */
export function escapeHtml(text: string): string {
  return visible(text).replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]!);
}

const XML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/**
 * Text for XML 1.0 (element content or an attribute value). XML 1.0 cannot
 * hold most C0 controls, U+FFFE/U+FFFF or lone surrogates at all, not even as
 * character references, so they are replaced visibly ({@link visible}); `]]>`
 * cannot survive because `>` is always escaped. With `multiline`, line feeds
 * and tabs in element content are kept (in attribute values a parser would
 * normalise them to spaces, so they are never kept there).
 *
 * @example escapeXml('a]]>b & "c"') // 'a]]&gt;b &amp; &quot;c&quot;'
 */
export function escapeXml(text: string, options: { multiline?: boolean } = {}): string {
  return visible(text, options.multiline ? '\n\t' : '').replace(/[&<>"']/g, (c) => XML_ENTITIES[c]!);
}

/**
 * Prose for Markdown (CommonMark/GitHub-flavoured), rendering as itself: the
 * characters that mean something anywhere in a line (emphasis `* _ ~`, code
 * `` ` ``, links and images `[ ] ( )`, HTML and autolinks `< >`, entities `&`,
 * math `$`, tables `|`, braces, the backslash) are always backslash-escaped,
 * and those that mean something only at the start of a line (`# > + - =`, and
 * `.`/`)` after a number: headings, quotes, lists) are escaped there. Control
 * characters are made {@link visible}, so the text stays on one line.
 *
 * @example escapeMarkdown('[x](javascript:alert(1)) | *b*') // '\\[x\\]\\(javascript:alert\\(1\\)\\) \\| \\*b\\*'
 */
export function escapeMarkdown(text: string): string {
  return visible(text)
    .replace(/[\\`*_{}[\]()<>&$|~]/g, (c) => `\\${c}`)
    .replace(/^(\s*)([#+\-=])/, '$1\\$2')
    .replace(/^(\s*\d+)([.)])/, '$1\\$2');
}

/**
 * An inline code span showing `text` literally: the fence is one backtick
 * longer than the longest run of backticks inside, padded with a space when
 * the text starts or ends with a backtick or space (CommonMark strips one;
 * text of spaces only is kept as it is).
 * Nothing inside a code span is interpreted (no HTML, links, mentions,
 * entities). With `inTable`, `|` is escaped as `\|`, which GitHub's table
 * parser unescapes even inside code spans, so the cell is not split.
 *
 * @example markdownCode('a`b') // '``a`b``'
 */
export function markdownCode(text: string, options: { inTable?: boolean } = {}): string {
  let body = visible(text);
  if (options.inTable) body = body.replace(/\|/g, '\\|');
  if (body === '') return '` `';
  let longest = 0;
  for (const run of body.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const fence = '`'.repeat(longest + 1);
  const pad = /^[` ]|[` ]$/.test(body) && !/^ +$/.test(body) ? ' ' : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}

/**
 * A fenced code block (a command to copy) showing `text` literally, on one
 * line: {@link visible} first (a line feed shows as ␊, so the text cannot end
 * the block or start a new one), then a backtick fence longer than any run of
 * backticks inside (at least three). `info` is the language tag; it must not
 * hold a backtick or a line break.
 *
 * @example markdownCodeBlock('valgrind node app.js', 'sh') // '```sh\nvalgrind node app.js\n```'
 */
export function markdownCodeBlock(text: string, info = ''): string {
  if (/[`\r\n]/.test(info)) throw new Error(`not a code block info string: ${JSON.stringify(info)}`);
  const body = visible(text);
  let longest = 0;
  for (const run of body.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${body}\n${fence}`;
}

/**
 * The message of a GitHub Actions workflow command (`::error ...::<message>`),
 * escaped as @actions/core does (`%` → %25, CR → %0D, LF → %0A), after
 * {@link visible} (line feeds kept, so a message may span lines). One command
 * therefore always stays on one line: a payload cannot start a command of its
 * own.
 *
 * @example escapeAnnotationData('x\n::warning::y') // 'x%0A::warning::y'
 */
export function escapeAnnotationData(text: string): string {
  return visible(text, '\n')
    .replace(/%/g, '%25')
    .replace(/\r/g, '%0D')
    .replace(/\n/g, '%0A');
}

/**
 * A property value of a workflow command (`title=`, `file=`): as
 * {@link escapeAnnotationData}, plus `:` → %3A and `,` → %2C so the value
 * cannot end the property list or start another property.
 *
 * @example escapeAnnotationProperty('a,b::c') // 'a%2Cb%3A%3Ac'
 */
export function escapeAnnotationProperty(text: string): string {
  return escapeAnnotationData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/**
 * Cuts `text` to at most `max` code points, with an ellipsis when it was cut;
 * never splits a surrogate pair. For display only: escape the result.
 */
export function truncate(text: string, max: number): string {
  const points = Array.from(text);
  return points.length <= max ? text : `${points.slice(0, Math.max(0, max - 1)).join('')}…`;
}
