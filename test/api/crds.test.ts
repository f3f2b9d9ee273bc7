import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { renderCrds } from '../../scripts/crds/generate';

const crdDir = path.join(__dirname, '..', '..', 'crds');
const load = (plural: string) => parse(fs.readFileSync(path.join(crdDir, `kubeopencode.io_${plural}.yaml`), 'utf8'));
const schemaOf = (plural: string) => load(plural).spec.versions[0].schema.openAPIV3Schema;

describe('crds/', () => {
  test('are up to date with scripts/crds/schema.ts (run `npm run import` after editing it)', () => {
    for (const [name, text] of renderCrds()) {
      expect(fs.readFileSync(path.join(crdDir, name), 'utf8')).toBe(text);
    }
  });

  test('five kinds in kubeopencode.io/v1alpha1 with the short names', () => {
    const kinds = ['agents', 'agenttemplates', 'tasks', 'crontasks', 'kubeopencodeconfigs'].map(load);
    expect(kinds.map((k) => [k.spec.names.kind, k.spec.names.shortNames, k.spec.scope])).toEqual([
      ['Agent', ['ag'], 'Namespaced'],
      ['AgentTemplate', ['agt'], 'Namespaced'],
      ['Task', ['tk'], 'Namespaced'],
      ['CronTask', ['ct'], 'Namespaced'],
      ['KubeOpenCodeConfig', ['ktc'], 'Cluster'],
    ]);
    for (const k of kinds) expect(k.spec.group).toBe('kubeopencode.io');
  });

  test('kubectl get agent -o wide shows PROFILE and STATUS', () => {
    const cols = load('agents').spec.versions[0].additionalPrinterColumns;
    expect(cols.slice(0, 2).map((c: any) => c.name)).toEqual(['Profile', 'Status']);
    expect(cols[0].jsonPath).toBe('.spec.profile');
  });

  test('status subresource on Agent, Task and CronTask', () => {
    for (const p of ['agents', 'tasks', 'crontasks']) expect(load(p).spec.versions[0].subresources).toEqual({ status: {} });
  });

  test('defaults from the guide', () => {
    const agent = schemaOf('agents').properties.spec.properties;
    expect(agent.port.default).toBe(4096);
    expect(agent.persistence.properties.sessions.properties.size.default).toBe('1Gi');
    expect(agent.persistence.properties.workspace.properties.size.default).toBe('10Gi');
    expect(agent.caBundle.properties.configMapRef.properties.key.default).toBe('ca-bundle.crt');
    expect(agent.caBundle.properties.secretRef.properties.key.default).toBe('ca.crt');
    const git = agent.contexts.items.properties.git.properties;
    expect([git.ref.default, git.depth.default, git.sync.properties.interval.default, git.sync.properties.policy.default]).toEqual(['HEAD', 1, '5m', 'HotReload']);
    const cron = schemaOf('crontasks').properties.spec.properties;
    expect([cron.timeZone.default, cron.concurrencyPolicy.default, cron.maxRetainedTasks.default, cron.maxRetainedTasks.minimum]).toEqual(['UTC', 'Forbid', 10, 1]);
    expect(cron.concurrencyPolicy.enum).toEqual(['Allow', 'Forbid', 'Replace']);
  });

  test('CEL rules where the guide states one', () => {
    const task = schemaOf('tasks').properties.spec;
    expect(task['x-kubernetes-validations']).toContainEqual(
      { rule: 'has(self.agentRef) != has(self.templateRef)', message: 'exactly one of agentRef or templateRef must be set' },
    );
    const ctxRules = schemaOf('agents').properties.spec.properties.contexts.items['x-kubernetes-validations'].map((r: any) => r.rule);
    expect(ctxRules).toContain("self.type == 'Git' ? has(self.git) : !has(self.git)");
    expect(schemaOf('kubeopencodeconfigs')['x-kubernetes-validations'][0].rule).toBe("self.metadata.name == 'cluster'");
  });
});

test('docs/api-reference.md is up to date with the schema', () => {
  const { renderReference } = require('../../scripts/crds/reference');
  expect(fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'api-reference.md'), 'utf8')).toBe(renderReference());
});
