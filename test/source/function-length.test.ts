/**
 * Files short enough to read whole, functions short enough to hold in one's head: no function, method, constructor,
 * accessor or arrow function in src/ is longer than 80 lines (from its first line to its closing brace). A longer one
 * wants to be named steps, the way cdk8s-plus's constructors are a list of `createX()` calls.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const SRC = path.join(__dirname, '..', '..', 'src');
const MAX_LINES = 80;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
}

/** How a reader would find the function: its own name, or the name of what it is assigned to, or its position. */
function functionName(node: ts.FunctionLikeDeclaration, file: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(node)) {
    const cls = node.parent;
    return `${cls.name?.text ?? '(anonymous class)'}.constructor`;
  }
  if (node.name && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name) || ts.isPrivateIdentifier(node.name))) {
    const owner = ts.isClassLike(node.parent) ? `${node.parent.name?.text ?? '(anonymous class)'}.` : '';
    return owner + node.name.text;
  }
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
  return `(arrow function at line ${line + 1})`;
}

/** Every function-like node of one file with its length in lines. */
function functionLengths(fileName: string, text: string): { name: string; line: number; lines: number }[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: { name: string; line: number; lines: number }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body) {
      const fn = node as ts.FunctionLikeDeclaration;
      const first = file.getLineAndCharacterOfPosition(fn.getStart(file)).line;
      const last = file.getLineAndCharacterOfPosition(fn.getEnd()).line;
      found.push({ name: functionName(fn, file), line: first + 1, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

test('the walker measures functions, methods, constructors and arrows (so the check below can fail)', () => {
  const body = (n: number): string => Array.from({ length: n - 2 }, (_, i) => `  const v${i} = ${i};`).join('\n');
  const text = [
    `function long() {\n${body(81)}\n}`,
    `function short() {\n${body(80)}\n}`,
    `class C {\n  constructor() {\n${body(81)}\n  }\n  method() {\n${body(3)}\n  }\n}`,
    `const arrow = () => {\n${body(90)}\n};`,
  ].join('\n');
  const lengths = functionLengths('sample.ts', text);
  expect(lengths.map((f) => [f.name, f.lines])).toEqual([
    ['long', 81], ['short', 80], ['C.constructor', 81], ['C.method', 3], ['arrow', 90],
  ]);
});

test(`no function in src/ is longer than ${MAX_LINES} lines`, () => {
  const tooLong: string[] = [];
  for (const file of sources(SRC)) {
    for (const f of functionLengths(file, fs.readFileSync(file, 'utf8'))) {
      if (f.lines > MAX_LINES) tooLong.push(`${path.relative(SRC, file)}:${f.line} ${f.name} is ${f.lines} lines`);
    }
  }
  expect(tooLong).toEqual([]);
});
