import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { Agent, AgentTemplate, CronTask, KubeOpenCodeConfig, KubeOpenCodeController, Task } from '../../src';
import { chart } from '../util/synth';

/** The ApiObjects a construct made that no public property of it holds. */
function unexposed(c: Construct): string[] {
  const values = Object.values(c).flatMap((v) => (Array.isArray(v) ? v : [v]));
  return c.node.findAll()
    .filter((x): x is ApiObject => x instanceof ApiObject)
    .filter((o) => !values.includes(o))
    .map((o) => `${o.kind}/${o.name} (${o.node.path})`);
}

test('every object a construct generates is a typed public property of it, as cdk8s-plus exposes .deployment/.service', () => {
  const c = chart('ns');
  const agent = new Agent(c, 'a', {
    workspaceDir: '/w', serviceAccountName: 'sa',
    persistence: { sessions: { size: '1Gi' }, workspace: { size: '5Gi' } },
    contexts: [{ name: 'rules', type: 'Text', text: 'x' }],
  });
  const template = new AgentTemplate(c, 't', { workspaceDir: '/w', serviceAccountName: 'sa' });
  const task = new Task(c, 'task', { agentRef: agent, description: 'x' });
  const cron = new CronTask(c, 'cron', { schedule: '0 1 * * *', taskTemplate: { spec: { agentRef: agent, description: 'x' } } });
  const config = new KubeOpenCodeConfig(c, 'config');
  const controller = new KubeOpenCodeController(c, 'controller');
  for (const x of [agent, template, task, cron, config, controller]) expect(unexposed(x)).toEqual([]);

  expect(agent.configMap.name).toBe('a-server-context');
  expect(agent.sessionsPvc?.name).toBe('a-server-sessions');
  expect(agent.workspacePvc?.name).toBe('a-server-workspace');
  expect(agent.networkPolicy?.kind).toBe('NetworkPolicy');
  expect(template.configMap?.name).toBe('t-template-context');
  expect(cron.role.kind).toBe('Role');
  expect(controller.crds).toHaveLength(5);
  expect(controller.clusterRole.kind).toBe('ClusterRole');
});
