/**
 * Rules of the tree a newcomer relies on (issue 19): no function longer than a screenful, no two files of the same
 * name in src/ (a reader finds a thing by its name), and a controller root that holds only the wiring.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';

const SRC = path.join(__dirname, '..', '..', 'src');
const MAX_FUNCTION_LINES = 80;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
}

/** `file:line name (n lines)` of every function, method, constructor or arrow function longer than `max` lines. */
function longFunctions(files: readonly string[], max: number): string[] {
  const found: string[] = [];
  for (const file of files) {
    const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node): void => {
      if (ts.isFunctionLike(n) && 'body' in n && n.body) {
        const first = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
        const lines = sf.getLineAndCharacterOfPosition(n.getEnd()).line - first + 1;
        const name = ts.isConstructorDeclaration(n) ? 'constructor' : n.name?.getText(sf) ?? '(anonymous)';
        if (lines > max) found.push(`${path.relative(SRC, file)}:${first + 1} ${name} (${lines} lines)`);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return found;
}

/**
 * The constructs' half of issue 19 (constructors into createX() steps, planContexts, buildAgentPod) is another
 * change; until it lands these folders are not held to the limit.
 */
const NOT_YET = ['constructs', 'pod'];

test(`no function in src/ is longer than ${MAX_FUNCTION_LINES} lines`, () => {
  const files = sources(SRC).filter((f) => !NOT_YET.includes(path.relative(SRC, f).split(path.sep)[0]));
  expect(longFunctions(files, MAX_FUNCTION_LINES)).toEqual([]);
});

test('the check sees a long function (it can fail)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'layout-'));
  const file = path.join(tmp, 'long.ts');
  fs.writeFileSync(file, `export function long(): number {\n${'  let x = 1;\n'.repeat(3)}  return 1;\n}\nclass C { m() { return () => {\n\n}; } }\n`);
  expect(longFunctions([file], 4)).toEqual([`${path.relative(SRC, file)}:1 long (6 lines)`]);
  fs.rmSync(tmp, { recursive: true });
});

test('no two files in src/ have the same name (index.ts aside), but for the two bins\' main.ts', () => {
  const byName = new Map<string, string[]>();
  for (const f of sources(SRC)) byName.set(path.basename(f), [...(byName.get(path.basename(f)) ?? []), path.relative(SRC, f)]);
  const twice = [...byName].filter(([name, files]) => files.length > 1 && name !== 'index.ts' && name !== 'main.ts');
  expect(twice).toEqual([]);
});

test('the controller root holds only the wiring: main.ts, controller.ts, settings.ts', () => {
  const root = fs.readdirSync(path.join(SRC, 'controller'), { withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => e.name).sort();
  expect(root).toEqual(['controller.ts', 'main.ts', 'settings.ts']);
});
