/**
 * Git contexts with sync policy Rollout ("Task Protection" in the guide): a new commit rolls the server Deployment,
 * but not under running Tasks, unless they have kept it waiting for an hour.
 */
import { createHash } from 'crypto';
import { ANNOTATIONS, CONDITIONS, DEFAULTS, NAMES, REASONS } from '../../api';
import { conditionChange, findCondition, type ConditionContent } from './conditions';
import type { EpochMs } from './time';
import type { AgentView, GitSyncStatus } from './views';
import type { AgentStatusPatch, Decision, Write } from './writes';

export interface GitRolloutInput {
  /** The Agent (status.gitSyncStatuses and conditions are read). */
  readonly agent: AgentView;
  /**
   * The commit each Rollout context's ref points at now (`git ls-remote`), by context name. A context missing here
   * (lookup failed) is left as it is.
   */
  readonly remoteHashes: Readonly<Record<string, string>>;
  /** spec.template.metadata.annotations of the server Deployment as it is now. */
  readonly podTemplateAnnotations: Readonly<Record<string, string>>;
  /** Tasks of this Agent that are active (not finished, not being stopped). */
  readonly activeTaskCount: number;
}

/**
 * The annotation whose change rolls the server for one context: `kubeopencode.io/git-hash-<ctx>`, shortened to
 * `git-hash-<first 40>-<8 hex of sha256>` when the name part would pass the 63 characters an annotation name allows.
 */
export function gitHashAnnotation(contextName: string): string {
  const prefix = ANNOTATIONS.gitHashPrefix;
  if (prefix.slice(prefix.indexOf('/') + 1).length + contextName.length <= 63) return prefix + contextName;
  return `${prefix}${contextName.slice(0, 40)}-${createHash('sha256').update(contextName).digest('hex').slice(0, 8)}`;
}

/**
 * - A context seen for the first time: its commit is recorded in status.gitSyncStatuses, nothing rolls.
 * - A new commit with no active Task, or after GitSyncPending has been True for 1 hour (its lastTransitionTime):
 *   annotate the pod template (`kubeopencode.io/git-hash-<ctx>`: the commit), which rolls the Deployment, and record it.
 *   If the annotation already carries the commit (a crash after the roll), it is only recorded.
 * - A new commit while Tasks are active: condition GitSyncPending=True/WaitingForTasks; nothing else changes and new
 *   Tasks are not blocked. GitSyncPending goes back to False/UpToDate once nothing waits.
 * - Writes, in order: the pod template annotations, then the Agent status. wakeAt: when the wait is forced to end.
 */
export function decideGitRollout(input: GitRolloutInput, now: EpochMs): Decision {
  const { agent, remoteHashes, podTemplateAnnotations, activeTaskCount } = input;
  const conditions = agent.status?.conditions;
  const pending = findCondition(conditions, CONDITIONS.gitSyncPending);
  const forceAt = pending?.status === 'True' ? pending.lastTransitionTime + DEFAULTS.gitSyncPendingTimeoutSeconds * 1000 : undefined;
  const mayRoll = activeTaskCount === 0 || (forceAt !== undefined && now >= forceAt);

  const statuses: GitSyncStatus[] = [...(agent.status?.gitSyncStatuses ?? [])];
  const roll: Record<string, string> = {};
  const waiting: string[] = [];
  let statusesChanged = false;
  for (const name of Object.keys(remoteHashes).sort()) {
    const hash = remoteHashes[name];
    const i = statuses.findIndex((s) => s.name === name);
    if (i >= 0 && statuses[i].commitHash === hash) continue;
    const key = gitHashAnnotation(name);
    const alreadyRolled = podTemplateAnnotations[key] === hash;
    if (i >= 0 && !alreadyRolled && !mayRoll) {
      waiting.push(name);
      continue;
    }
    if (i >= 0 && !alreadyRolled) roll[key] = hash;
    const record: GitSyncStatus = { name, commitHash: hash, lastSynced: now };
    if (i >= 0) statuses[i] = record;
    else statuses.push(record);
    statusesChanged = true;
  }

  const condition = conditionChange(conditions, pendingCondition(waiting), now);
  // No GitSyncPending condition until something first waits: an Agent that never waited has nothing to report.
  const reportCondition = condition && (pending !== undefined || waiting.length > 0) ? condition : undefined;

  const writes: Write[] = [];
  if (Object.keys(roll).length) {
    writes.push({ kind: 'patchServerPodTemplate', namespace: agent.namespace, deploymentName: NAMES.serverDeployment(agent.name), annotations: roll });
  }
  const status: AgentStatusPatch = {
    ...(statusesChanged ? { gitSyncStatuses: statuses } : {}),
    ...(reportCondition ? { conditions: [reportCondition] } : {}),
  };
  if (Object.keys(status).length) writes.push({ kind: 'patchAgentStatus', namespace: agent.namespace, name: agent.name, status });

  // While something waits, the condition is True: either just written (reportCondition) or already so (pending).
  const waitingSince = waiting.length ? (reportCondition ?? pending)?.lastTransitionTime : undefined;
  return { writes, wakeAt: waitingSince === undefined ? undefined : waitingSince + DEFAULTS.gitSyncPendingTimeoutSeconds * 1000 };
}

function pendingCondition(waiting: readonly string[]): ConditionContent {
  if (waiting.length === 0) {
    return { type: CONDITIONS.gitSyncPending, status: 'False', reason: REASONS.upToDate, message: 'Every Rollout Git context runs its latest commit' };
  }
  const timeout = DEFAULTS.gitSyncPendingTimeoutSeconds / 60;
  return {
    type: CONDITIONS.gitSyncPending,
    status: 'True',
    reason: REASONS.waitingForTasks,
    message: `New commits of ${waiting.map((n) => `'${n}'`).join(', ')} wait for the active Tasks; the server rolls when they finish, or after ${timeout} minutes at the latest`,
  };
}
