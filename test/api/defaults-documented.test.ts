import * as fs from 'fs';
import * as path from 'path';

/**
 * The props' JSDoc is the manual (and the API docs come from it): a default said in prose is also an `@default` tag,
 * and every optional field of a public props interface says its default.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), 'utf8');

/** Each `/** … *\/` block directly above a `readonly name?:` member, with the member's name. */
function memberDocs(text: string): Array<{ name: string; optional: boolean; doc: string; line: number }> {
  const out: Array<{ name: string; optional: boolean; doc: string; line: number }> = [];
  const re = /(\/\*\*(?:(?!\*\/)[\s\S])*\*\/)?\s*\n\s*readonly (\w+)(\??):/g;
  for (const m of text.matchAll(re)) {
    out.push({ name: m[2], optional: m[3] === '?', doc: m[1] ?? '', line: text.slice(0, m.index).split('\n').length + 1 });
  }
  return out;
}

const prose = (doc: string) => doc.split('\n').filter((l) => !/^\s*\*?\s*@/.test(l)).join('\n');
const SAYS_DEFAULT = /\bdefaults? (to|is)\b|\bdefault:|\bby default\b/i;

test('a default said in prose is also an @default tag (construct props and the generated spec types)', () => {
  const files = [
    ...fs.readdirSync(path.join(ROOT, 'src/constructs')).map((f) => `src/constructs/${f}`),
    'src/pod/system.ts', 'src/pod/resources.ts', 'src/factories.ts', 'imports/kubeopencode.io.ts',
  ];
  const missing = files.flatMap((f) => memberDocs(read(f))
    .filter((m) => SAYS_DEFAULT.test(prose(m.doc)) && !m.doc.includes('@default'))
    .map((m) => `${f}:${m.line} ${m.name}`));
  expect(missing).toEqual([]);
});

test('every optional field of a public props interface documents its default', () => {
  const index = read('src/index.ts');
  const exported = new Set([...index.matchAll(/\b(\w+(?:Props|Images|NetworkPolicy|Spec))\b/g)].map((m) => m[1]));
  const missing: string[] = [];
  for (const f of fs.readdirSync(path.join(ROOT, 'src/constructs')).map((x) => `src/constructs/${x}`).concat('src/pod/system.ts', 'src/pod/resources.ts')) {
    const text = read(f);
    for (const m of text.matchAll(/export interface (\w+)[^{]*\{([\s\S]*?)\n\}/g)) {
      if (!exported.has(m[1])) continue;
      for (const member of memberDocs(m[2])) {
        if (member.optional && !member.doc.includes('@default')) missing.push(`${f} ${m[1]}.${member.name}`);
      }
    }
  }
  expect(missing).toEqual([]);
});
