import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as semver from 'semver';
import { PeerVersions, ROOT, compileAndSynth, consumerApp, copiesOf, packContents, packTarball, readmeCode } from './consumer';

/**
 * The versions an app may bring, at both ends of our peer ranges (found with `npm view <name> versions`):
 * cdk8s ^2.68.11 has no 2.68.11 on the registry, so its lowest is 2.68.12.
 */
const LOWEST: PeerVersions = { 'cdk8s': '2.68.12', 'constructs': '10.3.0', 'cdk8s-plus-28': '2.0.3' };
const HIGHEST: PeerVersions = { 'cdk8s': '2.70.106', 'constructs': '10.8.1', 'cdk8s-plus-28': '2.5.6' };
const PEERS = ['cdk8s', 'constructs', 'cdk8s-plus-28'] as const;

describe('a cdk8s app that depends on the packed package', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'consumer-'));
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
  let tarball: string;
  const outputs = new Map<PeerVersions, Record<string, string>>();

  beforeAll(() => {
    tarball = packTarball(work);
  }, 240_000);

  test('cdk8s, constructs and cdk8s-plus-28 are peers, never dependencies of ours', () => {
    for (const p of PEERS) {
      expect(pkg.dependencies?.[p]).toBeUndefined();
      expect(pkg.peerDependencies?.[p]).toBeDefined();
    }
    // at least as wide as cdk8s-plus-28's own peer ranges
    expect(semver.subset('^2.68.11', pkg.peerDependencies.cdk8s)).toBe(true);
    expect(semver.subset('^10.3.0', pkg.peerDependencies.constructs)).toBe(true);
    for (const v of [LOWEST, HIGHEST]) {
      for (const p of PEERS) expect(semver.satisfies(v[p], pkg.peerDependencies[p])).toBe(true);
    }
    // the versions we build and test with are the highest tested here
    for (const p of PEERS) expect(pkg.devDependencies[p]).toBe(HIGHEST[p]);
  });

  test('the tarball holds only what the runtime reads, the API reference, and no source maps', () => {
    const { files, unpackedSize } = packContents(tarball);
    const allowed = [
      /^lib\/(src|imports)\/.*\.(js|d\.ts)$/, /^assets\/scripts\/[a-z-]+\.sh$/, /^bin\/(kubeopencode-controller|kubeoc)$/, /^crds\/[a-z._]+\.yaml$/,
      /^docs\/api-reference\.md$/, /^(package\.json|README\.md|LICENSE)$/,
    ];
    expect(files.filter((f) => !allowed.some((re) => re.test(f)))).toEqual([]);
    for (const f of ['docs/api-reference.md', 'lib/src/index.js', 'lib/src/index.d.ts', 'lib/src/controller/main.js', 'lib/src/cli/main.js', 'crds/kubeopencode.io_agents.yaml', 'assets/scripts/git-init.sh']) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    const dir = fs.mkdtempSync(path.join(work, 'x-'));
    require('child_process').execFileSync('tar', ['-xzf', tarball, '-C', dir]);
    const inlineMaps = files.filter((f) => f.endsWith('.js') && fs.readFileSync(path.join(dir, 'package', f), 'utf8').includes('sourceMappingURL'));
    expect(inlineMaps).toEqual([]);
    // a backstop beside the explicit checks above: the runtime is about 1 MB; inline maps alone used to add 1 MB more
    expect(unpackedSize).toBeLessThan(1_200_000);
  });

  test('package.json: exports with types, repository, homepage, keywords', () => {
    expect(pkg.exports['.']).toEqual({ types: './lib/src/index.d.ts', default: './lib/src/index.js' });
    expect(pkg.exports['./imports'].types).toBe('./lib/imports/kubeopencode.io.d.ts');
    expect(pkg.repository?.url).toMatch(/^https:\/\/github\.com\//);
    expect(pkg.homepage).toMatch(/^https:\/\//);
    expect(pkg.keywords).toEqual(expect.arrayContaining(['cdk8s', 'kubernetes', 'kubeopencode']));
  });

  test.each([['lowest', LOWEST], ['highest', HIGHEST]] as const)(
    "the README's app compiles under --strict and synthesizes with the %s peer versions, one copy of each",
    (_label, versions) => {
      const app = consumerApp(tarball, versions);
      for (const p of PEERS) {
        expect(copiesOf(app, p)).toEqual([`node_modules/${p}`]);
        expect(JSON.parse(fs.readFileSync(path.join(app, 'node_modules', p, 'package.json'), 'utf8')).version).toBe(versions[p]);
      }
      const files = compileAndSynth(app, readmeCode('## Using it in your cdk8s app'));
      const yaml = Object.values(files).join('\n');
      expect(yaml).toContain('kind: Agent\n');
      expect(yaml).toContain('name: team-agent-server');
      outputs.set(versions, files);
    },
    240_000,
  );

  test('the YAML is byte-identical across the peer versions', () => {
    expect(outputs.get(LOWEST)).toBeDefined();
    expect(outputs.get(LOWEST)).toEqual(outputs.get(HIGHEST));
  });
});
