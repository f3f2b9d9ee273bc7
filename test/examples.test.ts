import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildExamples } from '../examples/main';
import { parseYamlDocuments, validateManifest } from './util/k8s-validate';
import { containersIn, containersWithoutResources } from './util/synth';
import { podSpecsOf, restrictedViolations } from './util/pss';

describe('examples/', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'examples-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const app = buildExamples(dir);
  app.synth();
  const files = fs.readdirSync(dir).sort();

  test('one YAML file per example chart', () => {
    expect(files).toEqual(app.charts.map((c) => `${c.node.id}.k8s.yaml`).sort());
    expect(files.length).toBeGreaterThanOrEqual(4);
  });

  test.each(files)('%s passes strict validation against the Kubernetes schema and crds/', (f) => {
    const docs = parseYamlDocuments(fs.readFileSync(path.join(dir, f), 'utf8'));
    expect(docs.length).toBeGreaterThan(0);
    expect(validateManifest(docs)).toEqual([]);
  });

  test.each(files)('%s: every container has requests and limits (a ResourceQuota admits it)', (f) => {
    const docs = parseYamlDocuments(fs.readFileSync(path.join(dir, f), 'utf8')) as any[];
    expect(containersWithoutResources(docs)).toEqual([]);
  });

  test('the resources walk finds every kind of container the examples emit, and flags one without resources', () => {
    const docs = files.flatMap((f) => parseYamlDocuments(fs.readFileSync(path.join(dir, f), 'utf8')) as any[]);
    const names = new Set(containersIn(docs).map(({ container }) => container.name.replace(/-[a-z0-9-]*$/, '')));
    for (const n of ['server', 'task', 'git', 'url', 'context', 'controller', 'crontask']) expect(names).toContain(n);
    const stripped = JSON.parse(JSON.stringify(docs));
    delete containersIn(stripped).find(({ container }) => container.name.startsWith('git-sync'))!.container.resources;
    expect(containersWithoutResources(stripped)).toEqual([expect.stringMatching(/^Deployment\/.*\.containers\[git-sync-/)]);
  });

  test.each(files)('%s: every pod passes the Restricted Pod Security Standard', (f) => {
    const pods = podSpecsOf(parseYamlDocuments(fs.readFileSync(path.join(dir, f), 'utf8')) as any[]);
    expect(pods.length).toBeGreaterThan(0);
    expect(pods.map(([id, spec]) => [id, restrictedViolations(spec)])).toEqual(pods.map(([id]) => [id, []]));
  });

  test('synth is byte-for-byte deterministic', () => {
    const again = fs.mkdtempSync(path.join(os.tmpdir(), 'examples-'));
    try {
      buildExamples(again).synth();
      for (const f of files) {
        expect(fs.readFileSync(path.join(again, f), 'utf8')).toBe(fs.readFileSync(path.join(dir, f), 'utf8'));
      }
    } finally {
      fs.rmSync(again, { recursive: true, force: true });
    }
  });
});
