import { describe, expect, it } from 'vitest';
import {
  escapeAnnotationData,
  escapeAnnotationProperty,
  escapeHtml,
  escapeMarkdown,
  escapeXml,
  markdownCode,
  markdownCodeBlock,
  truncate,
  visible,
} from '../../src/report/escape.js';

// The escaping functions on their own, with hostile input. Every report
// format goes through one of these for every string that came from a snapshot.

const SCRIPT = '<script>alert(1)</script>';
const IMG = '<img src=x onerror=alert(2)>';
const CDATA_END = 'a]]>b<![CDATA[c';
const ESC = 'red\u001b[31mX\u001b[0m';
const LONE_HIGH = 'x\ud800y';
const LONE_LOW = 'x\udc00y';
const EMOJI = 'grin \u{1F600} ok';
const BIDI = 'abc\u202edcba\u2066z';

/** Characters XML 1.0 allows: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]. */
function isXml10(text: string): boolean {
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    const ok = c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
    if (!ok) return false;
  }
  return true;
}

describe('visible', () => {
  it('turns C0 controls into control pictures and DEL into ␡', () => {
    expect(visible('a\u0000b\u0001c\td\ne\rf\u001fg\u007fh')).toBe('a␀b␁c␉d␊e␍f␟g␡h');
    expect(visible(ESC)).toBe('red␛[31mX␛[0m');
  });
  it('replaces lone surrogates (high and low), C1 controls, bidi controls and U+FFFE/U+FFFF with U+FFFD; keeps pairs', () => {
    expect(visible(LONE_HIGH)).toBe('x\ufffdy');
    expect(visible(LONE_LOW)).toBe('x\ufffdy');
    expect(visible('\ud800')).toBe('\ufffd');
    expect(visible('\udc00\ud800')).toBe('\ufffd\ufffd');
    expect(visible('a\u0085b\u009bc')).toBe('a\ufffdb\ufffdc');
    expect(visible(BIDI)).toBe('abc\ufffddcba\ufffdz');
    expect(visible('\ufffe\uffff')).toBe('\ufffd\ufffd');
    expect(visible(EMOJI)).toBe(EMOJI);
    expect(visible('漢字 héllo')).toBe('漢字 héllo');
  });
  it('keeps the C0 characters it is asked to keep', () => {
    expect(visible('a\nb\tc\u0001', '\n\t')).toBe('a\nb\tc␁');
  });
  it('is idempotent', () => {
    const once = visible(`${ESC}${LONE_HIGH}${BIDI}\u0000`);
    expect(visible(once)).toBe(once);
  });
});

describe('escapeHtml', () => {
  it('escapes markup and quotes, so a payload is text in content and in attributes', () => {
    expect(escapeHtml(SCRIPT)).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(escapeHtml(IMG)).toBe('&lt;img src=x onerror=alert(2)&gt;');
    expect(escapeHtml(`" onmouseover="alert(3)`)).toBe('&quot; onmouseover=&quot;alert(3)');
    expect(escapeHtml(`' autofocus onfocus='x`)).toBe('&#39; autofocus onfocus=&#39;x');
    expect(escapeHtml('&amp; &lt;')).toBe('&amp;amp; &amp;lt;');
    expect(escapeHtml(CDATA_END)).toBe('a]]&gt;b&lt;![CDATA[c');
  });
  it('shows control characters and lone surrogates visibly', () => {
    expect(escapeHtml(`${ESC}${LONE_HIGH}`)).toBe('red␛[31mX␛[0mx\ufffdy');
    expect(escapeHtml('</title><script>')).not.toMatch(/[<>]/);
  });
});

describe('escapeXml', () => {
  it('escapes the five XML characters; "]]>" cannot survive', () => {
    expect(escapeXml(`a & b < c > d " e ' f`)).toBe('a &amp; b &lt; c &gt; d &quot; e &apos; f');
    expect(escapeXml(CDATA_END)).toBe('a]]&gt;b&lt;![CDATA[c');
    expect(escapeXml(SCRIPT)).not.toContain('<');
  });
  it('replaces what XML 1.0 cannot hold (most C0, lone surrogates, U+FFFE/U+FFFF) visibly', () => {
    const hostile = `n\u0000u\u0001l\u0008l\u000b\u000c\u001b\udfff\ud800\ufffe\uffff\u0085${EMOJI}`;
    const escaped = escapeXml(hostile);
    expect(escaped).toBe(`n␀u␁l␈l␋␌␛\ufffd\ufffd\ufffd\ufffd\ufffd${EMOJI}`);
    expect(isXml10(escaped)).toBe(true);
    expect(isXml10(hostile)).toBe(false);
  });
  it('in attributes line breaks become pictures; in multiline content LF and TAB are kept', () => {
    expect(escapeXml('a\nb\tc\rd')).toBe('a␊b␉c␍d');
    expect(escapeXml('a\nb\tc\rd', { multiline: true })).toBe('a\nb\tc␍d');
  });
});

describe('escapeMarkdown', () => {
  it('escapes inline syntax: emphasis, code, links, images, HTML, entities, tables, math', () => {
    expect(escapeMarkdown('[x](javascript:alert(1)) | *b*')).toBe('\\[x\\]\\(javascript:alert\\(1\\)\\) \\| \\*b\\*');
    expect(escapeMarkdown('![i](http://e/x.png)')).toBe('!\\[i\\]\\(http://e/x.png\\)');
    expect(escapeMarkdown(IMG)).toBe('\\<img src=x onerror=alert\\(2\\)\\>');
    expect(escapeMarkdown('a_b__c__ ~~s~~ `c` &amp; $x$ {y} \\')).toBe('a\\_b\\_\\_c\\_\\_ \\~\\~s\\~\\~ \\`c\\` \\&amp; \\$x\\$ \\{y\\} \\\\');
  });
  it('escapes line-start syntax: headings, quotes, lists, ordered lists', () => {
    expect(escapeMarkdown('# h')).toBe('\\# h');
    expect(escapeMarkdown('> q')).toBe('\\> q');
    expect(escapeMarkdown('- l')).toBe('\\- l');
    expect(escapeMarkdown('+ l')).toBe('\\+ l');
    expect(escapeMarkdown('=== x')).toBe('\\=== x');
    expect(escapeMarkdown('12. x')).toBe('12\\. x');
    expect(escapeMarkdown('3) x')).toBe('3\\) x');
    expect(escapeMarkdown('a-b.c 1. d')).toBe('a-b.c 1. d');
  });
  it('keeps one line: control characters become pictures', () => {
    expect(escapeMarkdown('a\n# b\r\nc')).toBe('a␊# b␍␊c');
    expect(escapeMarkdown(LONE_LOW)).toBe('x\ufffdy');
  });
});

describe('markdownCode', () => {
  it('wraps text in a fence longer than any backtick run inside', () => {
    expect(markdownCode('plain')).toBe('`plain`');
    expect(markdownCode('a`b')).toBe('``a`b``');
    expect(markdownCode('a``b`c')).toBe('```a``b`c```');
    expect(markdownCode('`tick`')).toBe('`` `tick` ``');
    expect(markdownCode(' lead')).toBe('`  lead `');
    expect(markdownCode('   ')).toBe('`   `');
    expect(markdownCode('')).toBe('` `');
  });
  it('leaves markup literal (code spans interpret nothing) and keeps one line', () => {
    expect(markdownCode(SCRIPT)).toBe('`<script>alert(1)</script>`');
    expect(markdownCode('a\nb\u001b')).toBe('`a␊b␛`');
    expect(markdownCode(LONE_HIGH)).toBe('`x\ufffdy`');
  });
  it('escapes | inside tables only (GitHub unescapes \\| in a cell, even in code)', () => {
    expect(markdownCode('a|b')).toBe('`a|b`');
    expect(markdownCode('a|b', { inTable: true })).toBe('`a\\|b`');
    expect(markdownCode('| md `tick`', { inTable: true })).toBe('`` \\| md `tick` ``');
  });
});

describe('markdownCodeBlock', () => {
  it('fences one line with at least three backticks, longer than any run inside', () => {
    expect(markdownCodeBlock('valgrind node app.js', 'sh')).toBe('```sh\nvalgrind node app.js\n```');
    expect(markdownCodeBlock('a```b````c')).toBe('`````\na```b````c\n`````');
    expect(markdownCodeBlock('')).toBe('```\n\n```');
  });
  it('keeps the text on one line, so it can neither close the block nor start another', () => {
    expect(markdownCodeBlock('x\n```\n# y\r\u001b[31m', 'sh')).toBe('````sh\nx␊```␊# y␍␛[31m\n````');
    expect(markdownCodeBlock(`${SCRIPT}${LONE_HIGH}`)).toBe(`\`\`\`\n${SCRIPT}x\ufffdy\n\`\`\``);
  });
  it('refuses an info string that could break the fence', () => {
    expect(() => markdownCodeBlock('x', 's`h')).toThrow('not a code block info string');
    expect(() => markdownCodeBlock('x', 'sh\n# y')).toThrow('not a code block info string');
  });
});

describe('GitHub workflow command escaping', () => {
  it('data: % CR LF are percent-encoded, so a payload cannot start a command of its own', () => {
    expect(escapeAnnotationData('x\n::warning::y')).toBe('x%0A::warning::y');
    expect(escapeAnnotationData('50% %0A')).toBe('50%25 %250A');
    expect(escapeAnnotationData('a\r\nb')).toBe('a␍%0Ab');
    expect(escapeAnnotationData(`${ESC}${LONE_HIGH}`)).toBe('red␛[31mX␛[0mx\ufffdy');
    expect(escapeAnnotationData('a\nb')).not.toMatch(/[\r\n]/);
  });
  it('properties: also , and : so a value cannot end the property list', () => {
    expect(escapeAnnotationProperty('a,b::c')).toBe('a%2Cb%3A%3Ac');
    expect(escapeAnnotationProperty('f.js,line=1::x\ny%')).toBe('f.js%2Cline=1%3A%3Ax%0Ay%25');
  });
});

describe('truncate', () => {
  it('cuts by code points, never inside a surrogate pair', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('ab', 4)).toBe('ab');
    expect(truncate('\u{1F600}\u{1F600}\u{1F600}', 2)).toBe('\u{1F600}…');
  });
});
