/**
 * One synth measurement in a fresh process (so peak memory is this run's alone):
 *   ts-node -T bench/synth-worker.ts <lib|floor> <agents>
 * lib: N Agent constructs with a realistic mix; floor: the same final objects as raw cdk8s ApiObjects.
 * Prints {ms, peakRssMb, baseRssMb, objects, bytes} as JSON.
 */
import { ApiObject, App, Chart, Testing } from 'cdk8s';
import { Agent, AgentProps } from '../src';

const mode = process.argv[2];
const n = Number(process.argv[3]);

export function realisticAgent(i: number): AgentProps {
  return {
    profile: `Agent ${i}`,
    workspaceDir: '/workspace',
    serviceAccountName: 'kubeopencode-agent',
    persistence: { sessions: { size: '2Gi' }, workspace: { size: '20Gi' } },
    caBundle: { configMapRef: { name: 'custom-ca-bundle' } },
    proxy: { httpProxy: 'http://proxy:8080', httpsProxy: 'http://proxy:8080', noProxy: 'localhost,.corp' },
    contexts: [
      { name: 'codebase', type: 'Git', git: { repository: `https://git.corp/team/repo-${i}.git`, ref: 'main' }, mountPath: 'code' },
      { name: 'standards', type: 'Text', text: `# Standards for agent ${i}\n- sign commits\n` },
      { name: 'runbook', type: 'ConfigMap', configMap: { name: 'runbook' } },
    ],
    credentials: [
      { name: 'api-key', secretRef: { name: 'ai-credentials', key: 'api-key' }, env: 'OPENCODE_API_KEY' },
      { name: 'ssh', secretRef: { name: 'ssh-keys', key: 'id_rsa' }, mountPath: '/home/agent/.ssh/id_rsa', fileMode: 0o400 },
    ],
  };
}

function main(): void {
  const baseRss = process.memoryUsage().rss;
  let objects: any[] = [];
  if (mode === 'floor') {
    // the final objects, computed outside the timed region, then built directly as ApiObjects
    const sample = Testing.chart();
    new Agent(sample, 'agent-0', realisticAgent(0));
    const all = Testing.synth(sample);
    // the scripts ConfigMap is the chart's, once, whatever the number of Agents
    const isScripts = (o: any) => o.metadata?.labels?.['app.kubernetes.io/component'] === 'scripts';
    const template = JSON.stringify(all.filter((o) => !isScripts(o)));
    objects = [...all.filter(isScripts), ...Array.from({ length: n }, (_, i) => JSON.parse(template.replace(/agent-0\b/g, `agent-${i}`).replace(/repo-0\.git/g, `repo-${i}.git`))).flat()];
  }
  const start = process.hrtime.bigint();
  const app = new App({ outdir: '/tmp/bench-synth-unused' });
  const chart = new Chart(app, 'bench', { namespace: 'bench' });
  if (mode === 'lib') {
    for (let i = 0; i < n; i++) new Agent(chart, `agent-${i}`, realisticAgent(i));
  } else {
    objects.forEach((o, i) => new ApiObject(chart, `o${i}`, o));
  }
  const yaml = app.synthYaml();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ ms, peakRssMb, baseRssMb: baseRss / 1048576, objects: chart.node.findAll().filter((c) => c instanceof ApiObject).length, bytes: yaml.length }));
}

if (require.main === module) main();
