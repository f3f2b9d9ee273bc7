/**
 * Rules of the tree a newcomer relies on (issue 19): no two files of the same name in src/ (a reader finds a thing by
 * its name), and a controller root that holds only the wiring. The 80-line limit on functions is
 * function-length.test.ts.
 */
import * as fs from 'fs';
import * as path from 'path';

const SRC = path.join(__dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
}

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
