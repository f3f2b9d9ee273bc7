import { Testing } from 'cdk8s';
import { Agent, AgentTemplate, KubeOpenCodeConfig } from '../../src';
import { allContainers, chart, container, envOf, podSpec, synth } from '../util/synth';

const teamConfig = {
  executorImage: 'quay.io/kubeopencode/kubeopencode-agent-devbox:latest',
  workspaceDir: '/workspace',
  serviceAccountName: 'kubeopencode-agent',
  contexts: [{ name: 'coding-standards', type: 'Text' as const, text: 'Follow team coding standards...' }],
  credentials: [{ name: 'github-token', secretRef: { name: 'shared-github-creds', key: 'token' }, env: 'GITHUB_TOKEN' }],
};

describe('AgentTemplate: creating a template (guide: team-config)', () => {
  const c = chart('team');
  new AgentTemplate(c, 'team-config', teamConfig);
  const m = synth(c);

  test('emits the AgentTemplate CR with its spec', () => {
    const t = m.find('AgentTemplate', 'team-config');
    expect(t.apiVersion).toBe('kubeopencode.io/v1alpha1');
    expect(t.spec.executorImage).toBe(teamConfig.executorImage);
    expect(t.spec.contexts).toEqual(teamConfig.contexts);
  });

  test('a standalone pod for ephemeral Tasks that runs opencode run and exits', () => {
    const pt = m.find('PodTemplate', 'team-config-template-task');
    const pod = podSpec(pt);
    expect(pod.restartPolicy).toBe('Never');
    const task = container(pod, 'task');
    expect(task.image).toBe(teamConfig.executorImage);
    expect(task.command[2]).toContain('run --format json');
    expect(task.command[2]).not.toMatch(/--attach "\$KUBEOPENCODE_SERVER_URL"\s*$/);
    expect(envOf(task).KUBEOPENCODE_SERVER_URL).toBeUndefined();
    expect(envOf(task).GITHUB_TOKEN).toEqual({ secretKeyRef: { name: 'shared-github-creds', key: 'token' } });
    // the aggregated context is built before the task runs
    expect(container(pod, 'context-init')).toBeDefined();
    expect(envOf(task).OPENCODE_CONFIG_CONTENT).toBe('{"instructions":["/workspace/.kubeopencode/context.md"]}');
    expect(pt.template.metadata.labels['kubeopencode.io/agent-template']).toBe('team-config');
    for (const x of allContainers(pod)) expect(x.securityContext.allowPrivilegeEscalation).toBe(false);
  });

  test('a template without workspaceDir/serviceAccountName is a base for Agents only (no task pod)', () => {
    const c2 = chart('team');
    new AgentTemplate(c2, 'base', { executorImage: 'x:1' });
    const m2 = synth(c2);
    expect(m2.names()).toEqual(['AgentTemplate/base']);
  });
});

describe('Agent with templateRef: merge rules', () => {
  function build(agentProps: Record<string, unknown>, byConstruct = false) {
    const c = chart('team');
    const t = new AgentTemplate(c, 'team-config', { ...teamConfig, imagePullSecrets: [{ name: 'tpl-pull' }], config: '{"model":"a/b"}' });
    new Agent(c, 'my-agent', { templateRef: byConstruct ? t : { name: 'team-config' }, ...agentProps } as any);
    return synth(c);
  }

  test('the guide example: required fields set on the Agent, template contexts and credentials inherited', () => {
    const m = build({
      profile: 'My personal development agent',
      executorImage: 'quay.io/kubeopencode/kubeopencode-agent-devbox:latest',
      workspaceDir: '/workspace',
      serviceAccountName: 'kubeopencode-agent',
      maxConcurrentTasks: 3,
    });
    const cr = m.find('Agent', 'my-agent');
    expect(cr.metadata.labels['kubeopencode.io/agent-template']).toBe('team-config');
    expect(cr.spec.templateRef).toEqual({ name: 'team-config' });
    expect(cr.spec.contexts).toBeUndefined(); // the CR mirrors what the user wrote
    const pod = podSpec(m.find('Deployment', 'my-agent-server'));
    expect(envOf(container(pod, 'server')).GITHUB_TOKEN).toBeDefined();
    expect(m.find('ConfigMap', 'my-agent-server-context').data['context-0.md']).toBe('Follow team coding standards...');
    expect(pod.imagePullSecrets).toEqual([{ name: 'tpl-pull' }]);
  });

  test('scalars: the Agent wins when set, otherwise the template value', () => {
    const m = build({ executorImage: 'mine:2' });
    const pod = podSpec(m.find('Deployment', 'my-agent-server'));
    expect(container(pod, 'server').image).toBe('mine:2');
    expect(pod.serviceAccountName).toBe('kubeopencode-agent'); // from the template
    expect(JSON.parse(m.find('ConfigMap', 'my-agent-server-context').data['opencode.json'])).toEqual({ model: 'a/b' });
  });

  test('lists: the Agent\'s list replaces the template\'s (not appended)', () => {
    const m = build({
      contexts: [{ name: 'mine', type: 'Text', text: 'only mine' }],
      credentials: [{ name: 'k', secretRef: { name: 's', key: 'k' }, env: 'MY_KEY' }],
      imagePullSecrets: [{ name: 'agent-pull' }],
    }, true);
    const pod = podSpec(m.find('Deployment', 'my-agent-server'));
    const env = envOf(container(pod, 'server'));
    expect(env.MY_KEY).toBeDefined();
    expect(env.GITHUB_TOKEN).toBeUndefined();
    expect(pod.imagePullSecrets).toEqual([{ name: 'agent-pull' }]);
    expect(m.find('ConfigMap', 'my-agent-server-context').data).toEqual(expect.objectContaining({ 'context-0.md': 'only mine' }));
  });

  test('agent-only fields (port, persistence, suspend, quota) come from the Agent', () => {
    const m = build({ port: 8080, persistence: { sessions: {} }, suspend: true, quota: { maxTaskStarts: 1, windowSeconds: 60 } });
    expect(m.find('Service', 'my-agent').spec.ports[0].port).toBe(8080);
    expect(m.find('PersistentVolumeClaim', 'my-agent-server-sessions')).toBeDefined();
    expect(m.find('Agent', 'my-agent').spec).toMatchObject({ suspend: true, quota: { maxTaskStarts: 1, windowSeconds: 60 } });
  });

  test('skills in templates are inherited, and replaced by the Agent\'s', () => {
    const c = chart('team');
    new AgentTemplate(c, 'base-template', {
      workspaceDir: '/workspace',
      serviceAccountName: 'kubeopencode-agent',
      skills: [{ name: 'org-standards', git: { repository: 'https://github.com/my-org/standards-skills.git' } }],
    });
    new Agent(c, 'inherits', { templateRef: { name: 'base-template' } });
    new Agent(c, 'replaces', { templateRef: { name: 'base-template' }, skills: [{ name: 'mine', git: { repository: 'https://e.com/s.git' } }] });
    const m = synth(c);
    expect(container(podSpec(m.find('Deployment', 'inherits-server')), 'git-init-skill-org-standards')).toBeDefined();
    const replaced = podSpec(m.find('Deployment', 'replaces-server'));
    expect(allContainers(replaced).map((x) => x.name)).toContain('git-init-skill-mine');
    expect(allContainers(replaced).map((x) => x.name)).not.toContain('git-init-skill-org-standards');
  });

  test('a templateRef that names no template in the app is a clear synth error', () => {
    const c = chart('team');
    new AgentTemplate(c, 'team-config', teamConfig);
    new Agent(c, 'lost', { templateRef: { name: 'team-cofnig' } });
    expect(() => Testing.synth(c)).toThrow(/Agent 'test\/lost': templateRef\.name: no AgentTemplate named 'team-cofnig' in namespace 'team' in this app \(known: team-config\)/);
  });

  test('an Agent whose template lacks a required field still gets a clear error', () => {
    const c = chart('team');
    new AgentTemplate(c, 'partial', { executorImage: 'x:1' });
    new Agent(c, 'incomplete', { templateRef: { name: 'partial' } });
    expect(() => Testing.synth(c)).toThrow(/Agent 'test\/incomplete': workspaceDir: is required/);
  });
});

describe('KubeOpenCodeConfig', () => {
  const proxy = {
    httpProxy: 'http://proxy.corp.example.com:8080',
    httpsProxy: 'http://proxy.corp.example.com:8080',
    noProxy: 'localhost,127.0.0.1,10.0.0.0/8,.corp.example.com',
  };

  test('is the cluster-scoped singleton named cluster', () => {
    const c = chart('some-namespace');
    new KubeOpenCodeConfig(c, 'config', { proxy, cleanup: { ttlSecondsAfterFinished: 86400, maxRetainedTasks: 100 } });
    const cfg = synth(c).find('KubeOpenCodeConfig', 'cluster');
    expect(cfg.metadata.namespace).toBeUndefined();
    expect(cfg.spec.cleanup).toEqual({ ttlSecondsAfterFinished: 86400, maxRetainedTasks: 100 });
  });

  test('its proxy applies at synth to every Agent and AgentTemplate in the app; an Agent\'s own proxy wins', () => {
    const c = chart('ns');
    new KubeOpenCodeConfig(c, 'config', { proxy });
    new Agent(c, 'inherits', { workspaceDir: '/w', serviceAccountName: 'sa' });
    new Agent(c, 'own', { workspaceDir: '/w', serviceAccountName: 'sa', proxy: { httpsProxy: 'http://mine:3128' } });
    new AgentTemplate(c, 'tpl', { workspaceDir: '/w', serviceAccountName: 'sa' });
    const m = synth(c);
    const inherited = envOf(container(podSpec(m.find('Deployment', 'inherits-server')), 'server'));
    expect(inherited.HTTPS_PROXY).toBe(proxy.httpsProxy);
    expect(inherited.no_proxy).toBe('localhost,127.0.0.1,10.0.0.0/8,.corp.example.com,.svc,.cluster.local');
    const own = envOf(container(podSpec(m.find('Deployment', 'own-server')), 'server'));
    expect(own.HTTPS_PROXY).toBe('http://mine:3128');
    expect(own.HTTP_PROXY).toBeUndefined();
    expect(envOf(container(podSpec(m.find('PodTemplate', 'tpl-template-task')), 'task')).https_proxy).toBe(proxy.httpsProxy);
  });
});

describe('KubeOpenCodeConfig: cluster domain and system image', () => {
  test('clusterDomain reaches the server URL of task pods; systemImage the CronTask jobs, wherever they are declared', () => {
    const { CronTask } = require('../../src');
    const c = chart('ns');
    const a = new Agent(c, 'a', { workspaceDir: '/w', serviceAccountName: 'sa' });
    new CronTask(c, 'nightly', { schedule: '0 1 * * *', taskTemplate: { spec: { agentRef: a, description: 'x' } } });
    // declared after the constructs that use it
    new KubeOpenCodeConfig(c, 'config', { clusterDomain: 'corp.internal', systemImage: { image: 'registry.corp/kubeopencode/controller:0.1.0' } });
    const m = synth(c);
    expect(envOf(container(podSpec(m.find('PodTemplate', 'a-task')), 'task')).KUBEOPENCODE_SERVER_URL).toBe('http://a.ns.svc.corp.internal:4096');
    expect(m.find('CronJob', 'nightly').spec.jobTemplate.spec.template.spec.containers[0].image).toBe('registry.corp/kubeopencode/controller:0.1.0');
  });
});
