/**
 * The label sets of src/api/label-sets.ts are what the synthesized objects carry and what the controller's selectors
 * and its own objects use: one definition, checked against real synth output so that neither side can drift.
 */
import { Agent, AgentTemplate, CronTask, KubeOpenCodeController, LABELS, LABEL_SETS, NAMES, SELECTORS } from '../../src';
import { chart, synth } from '../util/synth';

const c = chart('ns');
const agent = new Agent(c, 'a', { workspaceDir: '/w', serviceAccountName: 'sa', persistence: { sessions: { size: '1Gi' } } });
new AgentTemplate(c, 't', { workspaceDir: '/w', serviceAccountName: 'sa' });
new Agent(c, 'from-t', { templateRef: { name: 't' } });
new CronTask(c, 'cron', { schedule: '0 1 * * *', taskTemplate: { spec: { agentRef: agent, description: 'x' } } });
new KubeOpenCodeController(c, 'controller');
const m = synth(c);

const selectorMatches = (selector: string, labels: Record<string, string>) =>
  selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return v === undefined ? k in labels : labels[k] === v;
  });

describe('label sets: one definition for constructs and controller', () => {
  test("an Agent's server Deployment, its pods and its Service selector", () => {
    const d = m.find('Deployment', 'a-server');
    expect(d.metadata.labels).toEqual(LABEL_SETS.agent('a', 'server'));
    expect(d.spec.template.metadata.labels).toEqual(LABEL_SETS.agent('a', 'server'));
    expect(d.spec.selector.matchLabels).toEqual(LABEL_SETS.agentSelector('a', 'server'));
    expect(m.find('Service', 'a').spec.selector).toEqual(LABEL_SETS.agentSelector('a', 'server'));
    expect(selectorMatches(SELECTORS.serverDeployments, d.metadata.labels)).toBe(true);
  });

  test("an Agent's task PodTemplate (watched by the controller) and its RBAC", () => {
    const tpl = m.find('PodTemplate', 'a-task');
    expect(tpl.metadata.labels).toEqual(LABEL_SETS.agent('a', 'task'));
    expect(selectorMatches(SELECTORS.taskPodTemplates, tpl.metadata.labels)).toBe(true);
    for (const kind of ['Role', 'RoleBinding']) expect(m.find(kind, 'a-controller').metadata.labels).toEqual(LABEL_SETS.agentRbac('a'));
  });

  test("an AgentTemplate, its task PodTemplate and its pods", () => {
    expect(m.find('ConfigMap', 't-template-context').metadata.labels).toEqual(LABEL_SETS.agentTemplate('t'));
    const tpl = m.find('PodTemplate', 't-template-task');
    expect(tpl.metadata.labels).toEqual({ ...LABEL_SETS.agentTemplate('t'), [LABELS.component]: 'task' });
    expect(tpl.template.metadata.labels).toEqual(LABEL_SETS.agentTemplateTaskPod('t'));
    expect(selectorMatches(SELECTORS.taskPodTemplates, tpl.metadata.labels)).toBe(true);
  });

  test('a CronTask and its CronJob', () => {
    expect(m.find('CronJob', 'cron').metadata.labels).toEqual(LABEL_SETS.cronTask('cron'));
    expect(m.find('ServiceAccount', NAMES.cronTaskServiceAccount('cron')).metadata.labels).toEqual(LABEL_SETS.cronTask('cron'));
    expect(selectorMatches(SELECTORS.cronTaskChildren('cron'), { 'kubeopencode.io/crontask': 'cron' })).toBe(true);
  });

  test("the controller's installation, its selector and the scripts ConfigMap", () => {
    const d = m.find('Deployment', 'kubeopencode-controller');
    expect(d.metadata.labels).toEqual(LABEL_SETS.controller());
    expect(d.spec.selector.matchLabels).toEqual(LABEL_SETS.controllerSelector());
    expect(m.find('Service', 'kubeopencode-controller-metrics').spec.selector).toEqual(LABEL_SETS.controllerSelector());
    const scripts = m.all('ConfigMap').filter((x) => x.metadata.name.startsWith('kubeopencode-scripts-'));
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) expect(s.metadata.labels).toEqual(LABEL_SETS.scripts());
  });
});
