/**
 * Synth's peak memory: an Agent builds its pods once per synth for the four objects that share them (Context
 * ConfigMap, Deployment spec and annotation, task PodTemplate) and drops the build once all four have read it, so an
 * app of 10,000 Agents does not hold every built pod until the whole app is written (bench/synth-worker.ts measures it).
 */
import { App, Chart } from 'cdk8s';
import { Agent } from '../../src';

function app(n: number): { app: App; agents: Agent[] } {
  const a = new App({ outdir: '/tmp/synth-memory-unused' });
  const chart = new Chart(a, 'c', { namespace: 'ns' });
  const agents = Array.from({ length: n }, (_, i) => new Agent(chart, `agent-${i}`, {
    workspaceDir: '/workspace',
    serviceAccountName: 'sa',
    contexts: [
      { name: 'code', type: 'Git', git: { repository: `https://git.example/r-${i}.git` }, mountPath: 'code' },
      { name: 'notes', type: 'Text', text: `agent ${i}` },
    ],
  }));
  return { app: a, agents };
}

/** What the Agent keeps between synths (a private field, read here because nothing public shows a retained build). */
const retained = (a: Agent) => (a as unknown as { built?: unknown }).built;

test('after synth no Agent keeps its built pods', () => {
  const { app: a, agents } = app(3);
  a.synthYaml();
  expect(agents.map(retained)).toEqual([undefined, undefined, undefined]);
});

test('a second synth builds again and writes the same YAML, byte for byte', () => {
  const { app: a, agents } = app(3);
  const first = a.synthYaml();
  expect(a.synthYaml()).toBe(first);
  expect(agents.map(retained)).toEqual([undefined, undefined, undefined]);
});
