import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { Agent, AgentTemplate, KubeOpenCodeConfig, Task } from '../src';

/**
 * Template-based team setup (guide: "Agent Templates"): one AgentTemplate with the team's images, standards and
 * credentials; personal Agents that reference it; an ephemeral batch Task run from the template (no Agent needed);
 * and the cluster-wide KubeOpenCodeConfig whose proxy every Agent of this chart without its own inherits.
 */
export class TeamTemplates extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'team' });
    new KubeOpenCodeConfig(this, 'cluster', {
      proxy: {
        httpProxy: 'http://proxy.corp.example.com:8080',
        httpsProxy: 'http://proxy.corp.example.com:8080',
        noProxy: 'localhost,127.0.0.1,10.0.0.0/8,.corp.example.com',
      },
      cleanup: { ttlSecondsAfterFinished: 604800, maxRetainedTasks: 200 },
    });
    const team = new AgentTemplate(this, 'team-config', {
      workspaceDir: '/workspace',
      serviceAccountName: 'kubeopencode-agent',
      contexts: [{ name: 'coding-standards', type: 'Text', text: 'Follow team coding standards...' }],
      credentials: [{ name: 'github-token', secretRef: { name: 'shared-github-creds', key: 'token' }, env: 'GITHUB_TOKEN' }],
    });
    for (const member of ['alice', 'bob']) {
      new Agent(this, `${member}-agent`, {
        templateRef: team,
        profile: `${member}'s personal development agent`,
        maxConcurrentTasks: 3,
        persistence: { sessions: { size: '1Gi' } },
      });
    }
    // an ephemeral batch task (most Tasks are applied at run time; an app may declare them too)
    new Task(this, 'one-off-task', {
      templateRef: team,
      description: 'Update all dependencies and run tests.\n',
    });
  }
}
