/**
 * Transpiles src/, imports/ and bench/lib/ to plain CommonJS in a temp dir, so a controller child process runs as
 * compiled JavaScript (as in production) instead of carrying ts-node and the TypeScript compiler in its RSS.
 * Module resolution of the packages goes through NODE_PATH (the repo's node_modules).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';

export interface Build {
  readonly dir: string;
  /** The compiled path of a repo-relative .ts file. */
  entry(relTs: string): string;
  /** Environment for `node` running the compiled files. */
  readonly env: NodeJS.ProcessEnv;
  cleanup(): void;
}

export function buildForNode(root: string, dirs: readonly string[] = ['src', 'imports', 'bench/lib']): Build {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeopencode-bench-build-'));
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    esModuleInterop: true,
    experimentalDecorators: true,
    sourceMap: false,
    inlineSourceMap: false,
  };
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    if (!fs.existsSync(abs)) return;
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        const js = ts.transpileModule(fs.readFileSync(path.join(root, r), 'utf8'), { compilerOptions: options, fileName: r }).outputText;
        const dest = path.join(out, r.replace(/\.ts$/, '.js'));
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.writeFileSync(dest, js);
      }
    }
  };
  for (const d of dirs) walk(d);
  // src/version.ts reads the version from the package root's package.json, as it does from lib/ once installed
  fs.copyFileSync(path.join(root, 'package.json'), path.join(out, 'package.json'));
  const nodePath = [path.join(root, 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
  return {
    dir: out,
    entry: (relTs) => path.join(out, relTs.replace(/\.ts$/, '.js')),
    env: { ...process.env, NODE_PATH: nodePath },
    cleanup: () => fs.rmSync(out, { recursive: true, force: true }),
  };
}
