import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { Agent, AgentTemplate, CronTask, KubeOpenCodeConfig } from '../../src';
import { buildExamples } from '../../examples/main';
import { parseYamlDocuments } from '../util/k8s-validate';
import { container, envOf, podSpec, synthApp } from '../util/synth';

const prodProxy = { httpsProxy: 'http://prod-proxy:3128' };
const stagingProxy = { httpsProxy: 'http://staging-proxy:3128' };
const agentProps = { workspaceDir: '/w', serviceAccountName: 'sa' };
const serverEnv = (m: ReturnType<typeof synthApp>, name: string) => envOf(container(podSpec(m.find('Deployment', `${name}-server`)), 'server'));

describe('KubeOpenCodeConfig applies to its own part of the construct tree', () => {
  test('two charts with a config each: each Agent gets its own chart\'s proxy', () => {
    const app = Testing.app();
    const prod = new Chart(app, 'prod', { namespace: 'prod' });
    const staging = new Chart(app, 'staging', { namespace: 'staging' });
    new KubeOpenCodeConfig(prod, 'config', { proxy: prodProxy });
    new Agent(prod, 'agent', agentProps);
    new Agent(staging, 'agent2', agentProps);
    new KubeOpenCodeConfig(staging, 'config', { proxy: stagingProxy });
    const m = synthApp(app);
    expect(serverEnv(m, 'agent').HTTPS_PROXY).toBe(prodProxy.httpsProxy);
    expect(serverEnv(m, 'agent2').HTTPS_PROXY).toBe(stagingProxy.httpsProxy);
  });

  test('a chart without a config gets none from another chart', () => {
    const app = Testing.app();
    const withConfig = new Chart(app, 'a', { namespace: 'a' });
    const without = new Chart(app, 'b', { namespace: 'b' });
    new KubeOpenCodeConfig(withConfig, 'config', { proxy: prodProxy, clusterDomain: 'corp.internal', systemImage: { image: 'registry.corp/controller:1' } });
    const agent = new Agent(without, 'agent', agentProps);
    new AgentTemplate(without, 'tpl', agentProps);
    new CronTask(without, 'nightly', { schedule: '0 1 * * *', taskTemplate: { spec: { agentRef: agent, description: 'x' } } });
    const m = synthApp(app);
    expect(serverEnv(m, 'agent').HTTPS_PROXY).toBeUndefined();
    expect(envOf(container(podSpec(m.find('PodTemplate', 'tpl-template-task')), 'task')).HTTPS_PROXY).toBeUndefined();
    expect(agent.url).toBe('http://agent.b.svc.cluster.local:4096');
    expect(m.find('CronJob', 'nightly').spec.jobTemplate.spec.template.spec.containers[0].image).not.toBe('registry.corp/controller:1');
  });

  test('the nearest config up the tree wins: one in a nested scope overrides the chart\'s for what is below it', () => {
    const app = Testing.app();
    const c = new Chart(app, 'c', { namespace: 'ns' });
    new KubeOpenCodeConfig(c, 'config', { proxy: prodProxy });
    const team = new Construct(c, 'team');
    new KubeOpenCodeConfig(team, 'config', { proxy: stagingProxy });
    new Agent(new Construct(team, 'deeper'), 'nested', agentProps);
    new Agent(c, 'top', agentProps);
    const m = synthApp(app);
    expect(serverEnv(m, 'nested').HTTPS_PROXY).toBe(stagingProxy.httpsProxy);
    expect(serverEnv(m, 'top').HTTPS_PROXY).toBe(prodProxy.httpsProxy);
  });

  test('clusterConfig passes one explicitly, from any chart', () => {
    const app = Testing.app();
    const shared = new Chart(app, 'shared');
    const cfg = new KubeOpenCodeConfig(shared, 'config', { proxy: prodProxy, systemImage: { image: 'registry.corp/controller:1' } });
    const c = new Chart(app, 'c', { namespace: 'ns' });
    const agent = new Agent(c, 'agent', { ...agentProps, clusterConfig: cfg });
    new AgentTemplate(c, 'tpl', { ...agentProps, clusterConfig: cfg });
    new CronTask(c, 'nightly', { schedule: '0 1 * * *', clusterConfig: cfg, taskTemplate: { spec: { agentRef: agent, description: 'x' } } });
    const m = synthApp(app);
    expect(serverEnv(m, 'agent').HTTPS_PROXY).toBe(prodProxy.httpsProxy);
    expect(envOf(container(podSpec(m.find('PodTemplate', 'tpl-template-task')), 'task')).HTTPS_PROXY).toBe(prodProxy.httpsProxy);
    expect(m.find('CronJob', 'nightly').spec.jobTemplate.spec.template.spec.containers[0].image).toBe('registry.corp/controller:1');
    // the prop is the construct's, not the spec's
    expect(m.find('Agent', 'agent').spec.clusterConfig).toBeUndefined();
  });

  test('two configs in one scope fail the synth, naming both', () => {
    const app = Testing.app();
    const c = new Chart(app, 'c');
    new KubeOpenCodeConfig(c, 'one', {});
    new KubeOpenCodeConfig(c, 'two', {});
    expect(() => app.synth()).toThrow(/KubeOpenCodeConfig 'c\/one': scope: 'c\/two' is another KubeOpenCodeConfig in the same scope 'c'/);
  });

  test('the examples keep each example chart\'s config to itself', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'examples-'));
    try {
      const app: App = buildExamples(dir);
      app.synth();
      const withConfig = fs.readdirSync(dir).filter((f) =>
        parseYamlDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).some((d: any) => d.kind === 'KubeOpenCodeConfig'));
      expect(withConfig).toEqual(['team-templates.k8s.yaml']);
      const team = fs.readFileSync(path.join(dir, 'team-coding-assistant.k8s.yaml'), 'utf8');
      expect(team).not.toMatch(/PROXY/i);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
