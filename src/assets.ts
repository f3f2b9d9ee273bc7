import * as fs from 'fs';
import * as path from 'path';

let root: string | undefined;

/** The package root (where package.json is): the same from src/ under ts-jest and from lib/src/ once compiled. */
export function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cdk8s-kubeopencode: package.json not found above ${__dirname}`);
    dir = up;
  }
  return (root = dir);
}

const cache = new Map<string, string>();

/** Reads a file shipped in assets/ once. */
export function readAsset(...parts: string[]): string {
  const file = path.join(packageRoot(), 'assets', ...parts);
  let text = cache.get(file);
  if (text === undefined) {
    text = fs.readFileSync(file, 'utf8');
    cache.set(file, text);
  }
  return text;
}
