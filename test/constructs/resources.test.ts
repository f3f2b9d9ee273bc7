import { Agent, AgentTemplate, CronTask, DEFAULT_RESOURCES, KubeOpenCodeController } from '../../src';
import { allContainers, chart, container, podSpec, synth } from '../util/synth';

const gitContext = (name: string, policy?: 'HotReload') => ({
  name, type: 'Git' as const, mountPath: name,
  git: { repository: `https://git.example.com/${name}.git`, ...(policy ? { sync: { enabled: true, policy } } : {}) },
});
const base = {
  workspaceDir: '/workspace',
  serviceAccountName: 'sa',
  agentImage: 'registry.example.com/opencode:1',
  contexts: [gitContext('code'), gitContext('live', 'HotReload'), { name: 'doc', type: 'URL' as const, url: { source: 'https://docs.example.com/a.md' } }, { name: 'rules', type: 'Text' as const, text: 'x' }],
};

describe('resources on every container', () => {
  test('defaults: the main container, every init container and sidecar, the Task pod, the CronTask job, the controller', () => {
    const c = chart('ns');
    const a = new Agent(c, 'a', base);
    new AgentTemplate(c, 't', base);
    new CronTask(c, 'ct', { schedule: '0 1 * * *', taskTemplate: { spec: { agentRef: a, description: 'x' } } });
    new KubeOpenCodeController(c, 'controller', { installCrds: false, createNamespace: false });
    const m = synth(c);
    const server = podSpec(m.find('Deployment', 'a-server'));
    expect(allContainers(server).map((x) => x.name)).toEqual(expect.arrayContaining(['opencode-init', 'git-init-code', 'git-init-live', 'git-sync-live', 'url-fetch-doc', 'context-init']));
    expect(container(server, 'server').resources).toEqual(DEFAULT_RESOURCES.main);
    for (const x of allContainers(server).filter((x) => x.name !== 'server')) expect(x.resources).toEqual(DEFAULT_RESOURCES.system);
    expect(container(podSpec(m.find('PodTemplate', 'a-task')), 'task').resources).toEqual(DEFAULT_RESOURCES.attach);
    const tplPod = podSpec(m.find('PodTemplate', 't-template-task'));
    expect(container(tplPod, 'task').resources).toEqual(DEFAULT_RESOURCES.main);
    expect(m.find('CronJob', 'ct').spec.jobTemplate.spec.template.spec.containers[0].resources).toEqual(DEFAULT_RESOURCES.cronTaskJob);
    expect(m.all('Deployment').find((d) => d.metadata.name !== 'a-server')!.spec.template.spec.containers[0].resources).toEqual(DEFAULT_RESOURCES.controller);
  });

  test('podSpec.resources, systemContainers.resources, a per-container entry and attach replace the defaults', () => {
    const c = chart('ns');
    const small = { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '100m', memory: '128Mi' } };
    const git = { requests: { cpu: '200m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } };
    const main = { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '4', memory: '8Gi' } };
    const attach = { requests: { cpu: '20m', memory: '64Mi' }, limits: { cpu: '200m', memory: '256Mi' } };
    new Agent(c, 'a', { ...base, podSpec: { resources: main, systemContainers: { resources: small, gitInit: { resources: git }, attach: { resources: attach } } } });
    const m = synth(c);
    const server = podSpec(m.find('Deployment', 'a-server'));
    expect(container(server, 'server').resources).toEqual(main);
    expect(container(server, 'git-init-code').resources).toEqual(git);
    expect(container(server, 'git-init-live').resources).toEqual(git);
    for (const n of ['opencode-init', 'git-sync-live', 'url-fetch-doc', 'context-init']) expect(container(server, n).resources).toEqual(small);
    expect(container(podSpec(m.find('PodTemplate', 'a-task')), 'task').resources).toEqual(attach);
    // the CR mirrors what was written
    expect(m.find('Agent', 'a').spec.podSpec.systemContainers.gitInit).toEqual({ resources: git });
  });

  test('CronTask jobResources and KubeOpenCodeController resources', () => {
    const c = chart('ns');
    const r = { requests: { cpu: '5m', memory: '16Mi' }, limits: { cpu: '50m', memory: '64Mi' } };
    new CronTask(c, 'ct', { schedule: '0 1 * * *', jobResources: r, taskTemplate: { spec: { agentRef: { name: 'a' }, description: 'x' } } });
    new KubeOpenCodeController(c, 'controller', { installCrds: false, createNamespace: false, resources: r });
    const m = synth(c);
    expect(m.find('CronJob', 'ct').spec.jobTemplate.spec.template.spec.containers[0].resources).toEqual(r);
    expect(m.all('Deployment')[0].spec.template.spec.containers[0].resources).toEqual(r);
  });

  test('a misspelt field in systemContainers resources fails the synth with its path', () => {
    const c = chart('ns');
    expect(() => new Agent(c, 'a', { ...base, podSpec: { systemContainers: { gitSync: { resources: { limit: { cpu: '1' } } as any } } } }))
      .toThrow(/Agent 'test\/a': podSpec.systemContainers.gitSync.resources.limit: is not a field of this Kubernetes type/);
  });
});
