/**
 * The package as an app gets it: compiled and packed like `npm publish` would (a staging copy, so the checkout's own
 * lib/ is never written), then installed with npm into a throw-away cdk8s app next to the app's own cdk8s,
 * constructs and cdk8s-plus-28. The apps' node_modules are cached outside the clone, keyed by the versions and by our
 * dependency list, so only the first run pays for `npm install`; later runs swap in the new tarball.
 */
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..', '..');
const CACHE = process.env.KUBEOPENCODE_CACHE
  ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'cdk8s-kubeopencode');

export interface PeerVersions {
  readonly cdk8s: string;
  readonly constructs: string;
  readonly 'cdk8s-plus-28': string;
}

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** Compiles src/ and imports/ into a staging copy of the package and packs it; returns the tarball's path. */
export function packTarball(workDir: string): string {
  const stage = path.join(workDir, 'stage');
  fs.mkdirSync(stage, { recursive: true });
  // what npm would ship from the checkout (lib/ comes from the compile below)
  const listed = JSON.parse(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], ROOT))[0].files as Array<{ path: string }>;
  for (const f of listed) {
    if (f.path.startsWith('lib/')) continue;
    fs.mkdirSync(path.dirname(path.join(stage, f.path)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f.path), path.join(stage, f.path));
  }
  fs.copyFileSync(path.join(ROOT, '.npmignore'), path.join(stage, '.npmignore'));
  run(path.join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', path.join(ROOT, 'tsconfig.json'), '--outDir', path.join(stage, 'lib')], ROOT);
  const out = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', workDir], stage))[0];
  return path.join(workDir, out.filename);
}

/** The files and size of the packed tarball, as npm reports them. */
export function packContents(tarball: string): { files: string[]; unpackedSize: number } {
  const listing = run('tar', ['-tzf', tarball], path.dirname(tarball)).trim().split('\n');
  const files = listing.map((f) => f.replace(/^package\//, '')).sort();
  let unpackedSize = 0;
  const dir = fs.mkdtempSync(path.join(path.dirname(tarball), 'unpacked-'));
  run('tar', ['-xzf', tarball, '-C', dir], dir);
  for (const f of files) unpackedSize += fs.statSync(path.join(dir, 'package', f)).size;
  fs.rmSync(dir, { recursive: true, force: true });
  return { files, unpackedSize };
}

/**
 * A cdk8s app directory with the given peer versions and the tarball installed. The first call for a set of versions
 * runs a real `npm install <tarball> cdk8s@… constructs@… cdk8s-plus-28@…` (registry or npm cache); later calls reuse
 * that node_modules and unpack the new tarball in place of the old package.
 */
export function consumerApp(tarball: string, versions: PeerVersions): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const key = crypto.createHash('sha256')
    .update(JSON.stringify([versions, pkg.dependencies, pkg.peerDependencies]))
    .digest('hex').slice(0, 16);
  const dir = path.join(CACHE, 'consumer-apps', `${versions.cdk8s}-${versions.constructs}-${versions['cdk8s-plus-28']}-${key}`);
  const installed = path.join(dir, 'node_modules', 'cdk8s-kubeopencode');
  if (!fs.existsSync(path.join(dir, '.installed'))) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer-app', version: '0.0.0', private: true }));
    run('npm', [
      'install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-save',
      tarball, `cdk8s@${versions.cdk8s}`, `constructs@${versions.constructs}`, `cdk8s-plus-28@${versions['cdk8s-plus-28']}`,
    ], dir);
    fs.writeFileSync(path.join(dir, '.installed'), '');
  } else {
    fs.rmSync(installed, { recursive: true, force: true });
    fs.mkdirSync(installed, { recursive: true });
    run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'], dir);
  }
  return dir;
}

/** Every directory named `name` anywhere under node_modules (a second copy of a peer shows up here). */
export function copiesOf(appDir: string, name: string): string[] {
  const found: string[] = [];
  const walk = (nm: string) => {
    if (!fs.existsSync(nm)) return;
    for (const entry of fs.readdirSync(nm)) {
      if (entry.startsWith('.')) continue;
      const scoped = entry.startsWith('@') ? fs.readdirSync(path.join(nm, entry)).map((e) => `${entry}/${e}`) : [entry];
      for (const e of scoped) {
        const p = path.join(nm, e);
        if (e === name) found.push(path.relative(appDir, p));
        walk(path.join(p, 'node_modules'));
      }
    }
  };
  walk(path.join(appDir, 'node_modules'));
  return found;
}

/** The README's code block under `heading` (the first ```ts block after it). */
export function readmeCode(heading: string): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(heading);
  if (at < 0) throw new Error(`README has no heading '${heading}'`);
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!m) throw new Error(`README has no ts block after '${heading}'`);
  return m[1];
}

/** Compiles app.ts under --strict with the app's own node_modules, runs it, and returns every synthesized file. */
export function compileAndSynth(appDir: string, code: string): Record<string, string> {
  fs.writeFileSync(path.join(appDir, 'app.ts'), code);
  fs.rmSync(path.join(appDir, 'dist'), { recursive: true, force: true });
  fs.rmSync(path.join(appDir, 'app.js'), { force: true });
  try {
    run(path.join(ROOT, 'node_modules', '.bin', 'tsc'), [
      // node16 resolution reads the package's `exports` (and its `types` condition), as a modern app would
      '--strict', '--target', 'ES2022', '--module', 'node16', '--moduleResolution', 'node16', '--types', 'node',
      '--typeRoots', path.join(ROOT, 'node_modules', '@types'), 'app.ts',
    ], appDir);
  } catch (e: any) {
    throw new Error(`tsc --strict failed:\n${e.stdout}${e.stderr}`);
  }
  try {
    run(process.execPath, ['app.js'], appDir);
  } catch (e: any) {
    throw new Error(`synth failed:\n${e.stdout}${e.stderr}`);
  }
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(path.join(appDir, 'dist')).sort()) out[f] = fs.readFileSync(path.join(appDir, 'dist', f), 'utf8');
  return out;
}
