/** Builders for the views the decisions read, with the defaults a fresh object has. */
import type { AgentView, CronTaskView, TaskView } from '../../../src/controller/decide';
import { T0 } from './cluster-model';

export const NS = 'team';

export function agentView(overrides: Partial<Omit<AgentView, 'spec' | 'status'>> & { spec?: AgentView['spec']; status?: AgentView['status'] } = {}): AgentView {
  return { namespace: NS, name: 'agent', creationTimestamp: T0 - 86_400_000, spec: {}, status: { ready: true }, ...overrides };
}

let uid = 0;
export function taskView(name: string, overrides: Partial<TaskView> = {}): TaskView {
  return { namespace: NS, name, uid: `u-${name}-${++uid}`, creationTimestamp: T0, spec: { agentRef: { name: 'agent' } }, ...overrides };
}

export function cronTaskView(overrides: Partial<Omit<CronTaskView, 'spec'>> & { spec?: Partial<CronTaskView['spec']> } = {}): CronTaskView {
  const { spec, ...rest } = overrides;
  return {
    namespace: NS,
    name: 'nightly',
    uid: 'cron-uid',
    creationTimestamp: T0,
    ...rest,
    spec: { schedule: '0 9 * * 1-5', taskTemplate: { spec: { agentRef: { name: 'agent' }, description: 'Scan dependencies' } }, ...spec },
  };
}
