import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as semver from 'semver';
import { PeerVersions, ROOT, compileAndSynth, consumerApp, copiesOf, packTarball, readmeCode } from './consumer';

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
