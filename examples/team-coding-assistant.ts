import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { Agent } from '../src';

/**
 * Live Agents, "Team coding assistant": a shared agent pre-loaded with the monorepo and the coding standards; team
 * members attach with the CLI. Sessions persist across restarts. (The guide's "Setup" example.)
 */
export class TeamCodingAssistant extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'kubeopencode-system' });
    new Agent(this, 'team-agent', {
      profile: 'Team development agent',
      workspaceDir: '/workspace',
      serviceAccountName: 'kubeopencode-agent',
      port: 4096,
      persistence: { sessions: { size: '2Gi' } },
      contexts: [
        {
          name: 'codebase',
          type: 'Git',
          git: { repository: 'https://github.com/your-org/your-repo.git', ref: 'main' },
          mountPath: 'code',
        },
        {
          name: 'coding-standards',
          type: 'Text',
          text: '# Organization Standards\n- Use signed commits\n- Follow Go conventions\n',
        },
      ],
      credentials: [{ name: 'api-key', secretRef: { name: 'ai-credentials', key: 'api-key' }, env: 'OPENCODE_API_KEY' }],
    });
  }
}
