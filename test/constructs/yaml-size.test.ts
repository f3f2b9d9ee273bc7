import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { Agent, AgentTemplate, ContextItem } from '../../src';
import { scriptFiles } from '../../src/pod/scripts-configmap';
import { buildExamples } from '../../examples/main';
import { parseYamlDocuments } from '../util/k8s-validate';
import { containersIn } from '../util/synth';

/** The README's first example, run as it is written (it is plain JavaScript too). */
function readmeAgent(chart: Chart): Agent {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const code = /```ts\n(new Agent\(chart, 'team-agent'[\s\S]*?)```/.exec(readme)![1];
  return new Function('Agent', 'chart', `return ${code.trim().replace(/;$/, '')}`)(Agent, chart);
}

/** The YAML of an Agent's own objects (what `cdk8s synth` writes for them), without the chart's shared scripts. */
function agentYaml(extraGitContexts: number): { bytes: number; scripts: number } {
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'size-')) });
  const chart = new Chart(app, 'agents', { namespace: 'kubeopencode-system' });
  const agent = readmeAgent(chart);
  for (let i = 0; i < extraGitContexts; i++) {
    agent.addContext({ name: `repo-${i}`, type: 'Git', git: { repository: `https://github.com/your-org/repo-${i}.git`, ref: 'main' }, mountPath: `repo-${i}` });
  }
  const docs = app.synthYaml().split(/^---\n/m);
  fs.rmSync(app.outdir, { recursive: true, force: true });
  const isScripts = (d: string) => /^kind: ConfigMap$/m.test(d) && d.includes(`  name: ${agent.scriptsConfigMap.name}\n`) && !/^kind: (Deployment|PodTemplate)$/m.test(d);
  return { bytes: docs.filter((d) => !isScripts(d)).join('---\n').length, scripts: docs.filter(isScripts).join('').length };
}

describe('YAML size: each script once, the Agent small', () => {
  test("the README's agent is at most 12 KB of YAML, and each extra Git context adds at most 1.5 KB", () => {
    const [one, two, four] = [agentYaml(0), agentYaml(1), agentYaml(3)];
    expect(one.bytes).toBeLessThanOrEqual(12 * 1024);
    expect(two.bytes - one.bytes).toBeLessThanOrEqual(1536);
    expect((four.bytes - one.bytes) / 3).toBeLessThanOrEqual(1536);
    // the scripts do not grow with the contexts
    expect(four.scripts).toBe(one.scripts);
  });

  test('every script is emitted once per chart and namespace, however many Agents, templates and contexts run it', () => {
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'size-')) });
    const chart = new Chart(app, 'agents', { namespace: 'team' });
    const git = (n: string): ContextItem => ({ name: n, type: 'Git', git: { repository: `https://git.example.com/${n}.git`, sync: { enabled: true } }, mountPath: n });
    for (const a of ['a', 'b', 'c']) new Agent(chart, a, { workspaceDir: '/w', serviceAccountName: 'sa', contexts: [git('x'), git('y')] });
    new AgentTemplate(chart, 't', { workspaceDir: '/w', serviceAccountName: 'sa', contexts: [git('z')] });
    const yaml = app.synthYaml();
    fs.rmSync(app.outdir, { recursive: true, force: true });
    for (const [file, text] of Object.entries(scriptFiles())) {
      const firstLine = text.split('\n')[0];
      expect([file, yaml.split(firstLine).length - 1]).toEqual([file, 1]);
    }
  });

  describe('in every example', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'examples-'));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    buildExamples(dir).synth();
    const docs = fs.readdirSync(dir).flatMap((f) => parseYamlDocuments(fs.readFileSync(path.join(dir, f), 'utf8')) as any[]);
    const podSpecs = (o: any): any[] => (o.kind === 'Deployment' ? [o.spec.template.spec] : o.kind === 'PodTemplate' ? [o.template.spec] : []);

    test('a container runs `sh /kubeopencode/scripts/<file>` from the scripts ConfigMap, whose text is the script the tests run', () => {
      let checked = 0;
      for (const o of docs) {
        for (const pod of podSpecs(o)) {
          for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
            if (c.command?.[0] !== 'sh') continue;
            const file = /^\/kubeopencode\/scripts\/([a-z-]+\.sh)$/.exec(c.command[1])![1];
            const mount = c.volumeMounts.find((m: any) => m.mountPath === '/kubeopencode/scripts');
            expect(mount.readOnly).toBe(true);
            const volume = pod.volumes.find((v: any) => v.name === mount.name);
            expect(volume.configMap.items).toContainEqual({ key: file, path: file });
            const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === volume.configMap.name && d.metadata.namespace === o.metadata.namespace);
            expect(cm.immutable).toBe(true);
            expect(cm.data[file]).toBe(scriptFiles()[file]);
            checked++;
          }
        }
      }
      expect(checked).toBeGreaterThan(5);
    });

    test('no mount point lies below a read-only mount of another volume (runc cannot create it: kubernetes#121294)', () => {
      const bad: string[] = [];
      for (const { at, container } of containersIn(docs)) {
        const mounts = container.volumeMounts ?? [];
        for (const m of mounts) {
          for (const ro of mounts.filter((x: any) => x.readOnly && x.name !== m.name && !x.subPath)) {
            if (m.mountPath.startsWith(`${ro.mountPath}/`)) bad.push(`${at}: ${m.mountPath} below read-only ${ro.mountPath}`);
          }
        }
      }
      expect(bad).toEqual([]);
    });
  });
});
