import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { Agent } from '../src';

/**
 * Live Agents, "Code review agent": reviews PRs as they come in, with shared context about the codebase kept current
 * by Git auto-sync (HotReload for the review guidelines, Rollout for the agent's own config) and a skills repository.
 */
export class CodeReviewAgent extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'review' });
    new Agent(this, 'code-reviewer', {
      profile: 'Reviews pull requests against team guidelines',
      workspaceDir: '/workspace',
      serviceAccountName: 'kubeopencode-agent',
      contexts: [
        {
          name: 'team-prompts',
          type: 'Git',
          git: { repository: 'https://github.com/org/prompts.git', ref: 'main', sync: { enabled: true, interval: '5m', policy: 'HotReload' } },
          mountPath: 'prompts/',
        },
        {
          name: 'agent-config',
          type: 'Git',
          git: { repository: 'https://github.com/org/agent-config.git', ref: 'main', sync: { enabled: true, interval: '10m', policy: 'Rollout' } },
          mountPath: '.',
        },
        { name: 'platform', type: 'Runtime' },
      ],
      skills: [
        {
          name: 'official-skills',
          git: { repository: 'https://github.com/anthropics/skills.git', ref: 'main', path: 'skills/', names: ['frontend-design', 'webapp-testing'] },
        },
      ],
    });
  }
}
