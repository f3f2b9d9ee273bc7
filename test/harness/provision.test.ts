import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { provisionedPaths } from './cluster';

const PROVISION = path.resolve(__dirname, '../../scripts/apiserver/provision.sh');
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync('bash', [PROVISION, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

describe('scripts/apiserver/provision.sh', () => {
  test('missing binaries give one clear line naming the provision script', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'no-cache-'));
    const saved = process.env.KUBEOPENCODE_CACHE;
    process.env.KUBEOPENCODE_CACHE = empty;
    try {
      expect(() => provisionedPaths()).toThrow(/^test-apiserver binaries are not provisioned for this checkout: run `bash scripts\/apiserver\/provision.sh`[^\n]*$/);
      const r = run(['--print-paths']);
      expect([r.status, r.stdout]).toEqual([3, '']);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      if (saved === undefined) delete process.env.KUBEOPENCODE_CACHE; else process.env.KUBEOPENCODE_CACHE = saved;
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  test('a provisioned checkout: --print-paths and a second provision run are no-ops (nothing installed or built)', () => {
    const paths = provisionedPaths(); // throws the one-line hint when not provisioned
    for (const args of [['--print-paths'], []]) {
      const r = run(args);
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ etcd: paths.etcd, testApiserver: paths.testApiserver, oaDump: paths.oaDump });
      // the cold path reports each step it takes (installing, bootstrapping, building) on stderr
      expect(r.stderr).not.toMatch(/installing|bootstrapping|building/);
    }
    const env = fs.readFileSync(path.join(path.dirname(path.dirname(paths.etcd)), 'paths.env'), 'utf8');
    expect(env).toContain(`KUBEOPENCODE_TEST_APISERVER_BIN=${paths.testApiserver}`);
  });

  test('a sid package version other than the pinned one fails loudly, naming the package', () => {
    provisionedPaths();
    const pins = fs.readFileSync(path.resolve(__dirname, '../../scripts/apiserver/sid-versions.txt'), 'utf8')
      .replace(/^golang-k8s-api-dev\s+.*$/m, 'golang-k8s-api-dev 0.99.0*');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pins-'));
    try {
      fs.writeFileSync(path.join(dir, 'pins.txt'), pins);
      const r = run([], { KUBEOPENCODE_SID_VERSIONS_FILE: path.join(dir, 'pins.txt') });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/VERSION CHECK FAILED: sid package golang-k8s-api-dev is 0\.36\.4-\d+, expected 0\.99\.0\*/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
