import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { Agent } from '../src';

/**
 * Live Agents, "Slack/ChatOps bot": an always-on agent that creates PRs on demand. It holds a GitHub token and an SSH
 * key, is rate-limited (the chat backend has an API quota) and sleeps when idle (standby).
 */
export class ChatOpsBot extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'chatops' });
    new Agent(this, 'chatops-bot', {
      profile: 'Slack bot that fixes issues and opens PRs',
      workspaceDir: '/workspace',
      serviceAccountName: 'kubeopencode-agent',
      maxConcurrentTasks: 3,
      quota: { maxTaskStarts: 10, windowSeconds: 3600 },
      standby: { idleTimeout: '30m' },
      persistence: { sessions: { size: '1Gi' }, workspace: { size: '10Gi' } },
      credentials: [
        { name: 'github-token', secretRef: { name: 'github-creds', key: 'token' }, env: 'GITHUB_TOKEN' },
        { name: 'ssh-key', secretRef: { name: 'ssh-keys', key: 'id_rsa' }, mountPath: '/home/agent/.ssh/id_rsa', fileMode: 0o400 },
      ],
      config: JSON.stringify({ $schema: 'https://opencode.ai/config.json', model: 'google/gemini-2.5-pro', small_model: 'google/gemini-2.5-flash' }),
    });
  }
}
