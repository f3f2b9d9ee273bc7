import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { Agent, CronTask } from '../src';

/** A scheduled scan (guide: "CronTask"): every weekday at 09:00 Shanghai time, the security agent scans for CVEs. */
export class ScheduledScan extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'security' });
    const agent = new Agent(this, 'security-agent', {
      profile: 'Dependency and CVE scanner',
      workspaceDir: '/workspace',
      serviceAccountName: 'kubeopencode-agent',
      maxConcurrentTasks: 1,
      contexts: [{ name: 'repo', type: 'Git', git: { repository: 'https://github.com/org/service.git', ref: 'main' }, mountPath: 'service' }],
    });
    new CronTask(this, 'daily-vuln-scan', {
      schedule: '0 9 * * 1-5',
      timeZone: 'Asia/Shanghai',
      concurrencyPolicy: 'Forbid',
      maxRetainedTasks: 10,
      taskTemplate: {
        spec: {
          agentRef: agent,
          description: 'Scan all Go dependencies for CVEs.\nIf critical/high found, create a PR with the fix.\n',
        },
      },
    });
  }
}
