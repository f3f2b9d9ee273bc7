import { Agent, AgentTemplate, CronTask, CronTaskProps, Task } from '../../src';
import { chart, envOf, synth } from '../util/synth';

describe('Task', () => {
  test('the guide\'s Task sent to a running Agent', () => {
    const c = chart('ns');
    new Task(c, 'task-with-opencode', { agentRef: { name: 'opencode-devbox' }, description: 'Update dependencies and create a PR' });
    const t = synth(c).find('Task', 'task-with-opencode');
    expect(t).toMatchObject({ apiVersion: 'kubeopencode.io/v1alpha1', spec: { agentRef: { name: 'opencode-devbox' }, description: 'Update dependencies and create a PR' } });
  });

  test('refs may be the constructs themselves', () => {
    const c = chart('ns');
    const a = new Agent(c, 'devbox', { workspaceDir: '/w', serviceAccountName: 'sa' });
    const tpl = new AgentTemplate(c, 'team-config', { workspaceDir: '/w', serviceAccountName: 'sa' });
    new Task(c, 'on-agent', { agentRef: a, description: 'x' });
    new Task(c, 'one-off-task', { templateRef: tpl, description: 'Update all dependencies and run tests.\n' });
    const m = synth(c);
    expect(m.find('Task', 'on-agent').spec.agentRef).toEqual({ name: 'devbox' });
    expect(m.find('Task', 'one-off-task').spec.templateRef).toEqual({ name: 'team-config' });
  });

  test.each([
    [{ description: 'x' }, /Task 'test\/t': spec: exactly one of agentRef or templateRef must be set \(got neither\)/],
    [{ agentRef: { name: 'a' }, templateRef: { name: 'b' }, description: 'x' }, /got both/],
    [{ agentRef: { name: 'a' }, description: '  ' }, /spec\.description: is required/],
    [{ agentRef: { name: 'a' }, description: 'x', timeout: 'an hour' }, /spec\.timeout: 'an hour' is not a duration/],
    [{ agentRef: { name: 'a' }, description: 'x'.repeat(32_769) }, /spec\.description: is 32769 characters; at most 32768 \(it reaches the pod as one environment variable/],
    [{ agentRef: { name: 'a' }, description: 'x', contexts: [{ type: 'Text', text: 'y'.repeat(2_049) }] }, /spec\.contexts\[0\]\.text: is 2049 characters; a Task context text is at most 2048/],
  ])('bad input %#', (props, pattern) => {
    expect(() => new Task(chart('ns'), 't', props as any)).toThrow(pattern);
  });
});

describe('CronTask', () => {
  const daily: CronTaskProps = {
    schedule: '0 9 * * 1-5',
    timeZone: 'Asia/Shanghai',
    concurrencyPolicy: 'Forbid',
    maxRetainedTasks: 10,
    taskTemplate: {
      spec: {
        agentRef: { name: 'security-agent' },
        description: 'Scan all Go dependencies for CVEs.\nIf critical/high found, create a PR with the fix.\n',
      },
    },
  };

  const c = chart('sec');
  new CronTask(c, 'daily-vuln-scan', daily);
  const m = synth(c);

  test('the guide\'s daily-vuln-scan becomes the CronTask CR', () => {
    const ct = m.find('CronTask', 'daily-vuln-scan');
    expect(ct.spec).toEqual({
      schedule: '0 9 * * 1-5',
      timeZone: 'Asia/Shanghai',
      concurrencyPolicy: 'Forbid',
      maxRetainedTasks: 10,
      taskTemplate: { spec: daily.taskTemplate.spec },
    });
  });

  test('a CronJob carries schedule, timeZone, suspend and startingDeadlineSeconds and runs crontask-fire', () => {
    const cj = m.find('CronJob', 'daily-vuln-scan');
    expect(cj.spec).toMatchObject({ schedule: '0 9 * * 1-5', timeZone: 'Asia/Shanghai', suspend: false });
    const pod = cj.spec.jobTemplate.spec.template.spec;
    expect(pod.serviceAccountName).toBe('daily-vuln-scan-crontask');
    const [fire] = pod.containers;
    expect(fire.command).toEqual(['kubeopencode-controller', 'crontask-fire']);
    expect(envOf(fire).CRONTASK_NAME).toBe('daily-vuln-scan');
    expect(fire.image).toMatch(/controller:\d+\.\d+\.\d+$/);
    expect(fire.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
  });

  test('timeZone defaults to UTC; suspend and startingDeadlineSeconds pass through', () => {
    const c2 = chart('x');
    new CronTask(c2, 'nightly', { ...daily, timeZone: undefined, suspend: true, startingDeadlineSeconds: 300 });
    const cj = synth(c2).find('CronJob', 'nightly');
    expect(cj.spec).toMatchObject({ timeZone: 'UTC', suspend: true, startingDeadlineSeconds: 300 });
  });

  test('least privilege: a Role to create/list/get/patch Tasks and read this CronTask only, no wildcards', () => {
    const role = m.find('Role', 'daily-vuln-scan-crontask');
    expect(role.rules).toEqual([
      { apiGroups: ['kubeopencode.io'], resources: ['tasks'], verbs: ['get', 'list', 'create', 'patch'] },
      { apiGroups: ['kubeopencode.io'], resources: ['crontasks'], resourceNames: ['daily-vuln-scan'], verbs: ['get'] },
    ]);
    expect(JSON.stringify(role)).not.toContain('*');
    const rb = m.find('RoleBinding', 'daily-vuln-scan-crontask');
    expect(rb.subjects).toEqual([{ kind: 'ServiceAccount', name: 'daily-vuln-scan-crontask', namespace: 'sec' }]);
    expect(m.find('ServiceAccount', 'daily-vuln-scan-crontask')).toBeDefined();
  });

  test.each([
    [{ schedule: '0 0 9 * * 1-5' }, /schedule: '0 0 9 \* \* 1-5' must have exactly 5 fields .* got 6/],
    [{ schedule: '@daily' }, /schedule: '@daily' must have exactly 5 fields .* got a macro/],
    [{ schedule: '61 * * * *' }, /schedule: '61 \* \* \* \*' is not a valid cron expression/],
    [{ schedule: '' }, /schedule: is required/],
    [{ timeZone: 'Mars/Olympus' }, /timeZone: 'Mars\/Olympus' is not an IANA time zone/],
    [{ concurrencyPolicy: 'Sometimes' }, /concurrencyPolicy: 'Sometimes' must be one of Allow, Forbid, Replace/],
    [{ maxRetainedTasks: 0 }, /maxRetainedTasks: 0 must be an integer of at least 1/],
    [{ taskTemplate: { spec: { description: 'x' } } }, /taskTemplate\.spec: exactly one of agentRef or templateRef/],
  ])('bad input is a clear synth error %#', (override, pattern) => {
    expect(() => new CronTask(chart('x'), 'ct', { ...daily, ...override } as any)).toThrow(pattern);
    expect(() => new CronTask(chart('x'), 'ct', { ...daily, ...override } as any)).toThrow(/CronTask 'test\/ct'/);
  });
});

describe('Task contexts', () => {
  test('only Text contexts travel with a Task; others are a synth error that says where they belong', () => {
    expect(() => new Task(chart('ns'), 't', { agentRef: { name: 'a' }, description: 'x', contexts: [{ type: 'Git', git: { repository: 'https://e.com/r.git' }, mountPath: 'r' }] })).toThrow(
      /spec\.contexts\[0\]: a Task context must be of type Text without mountPath \(got Git with mountPath\); Git, ConfigMap, URL and Runtime contexts belong on the Agent/);
  });

  test('the controller sends them ahead of the description, each in its context tag', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { taskText } = require('../../src/controller/kube/task-pod-manifest');
    expect(taskText({ description: 'Fix it', contexts: [{ name: 'ticket', type: 'Text', text: 'JIRA-1: login fails' }] })).toBe(
      '<context name="ticket" type="Text">\nJIRA-1: login fails\n</context>\n\nFix it');
    expect(taskText({ description: 'Fix it' })).toBe('Fix it');
    // a name can neither close its tag nor start another block
    expect(taskText({ description: 'd', contexts: [{ name: 'a">\n<context name="b', type: 'Text', text: 't' }] }))
      .toBe('<context name="a&quot;&gt;&#10;&lt;context name=&quot;b" type="Text">\nt\n</context>\n\nd');
  });
});
