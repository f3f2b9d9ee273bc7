/**
 * The controller's pure decision core: functions of (objects, now) that return the writes to make. Nothing here talks
 * to the API; src/controller/kube/ turns these writes into API calls (see writes.ts for that contract).
 */
export { decideServerReplicas, decideServerStatus, type ServerAgentView, type ServerDeploymentView } from './agent-server';
export {
  agentBelongings, decideOwnerReferences, decideServerAuthSecret, needsOwnerReferences, serverAuthSecretRef,
  type Belonging, type BelongingsAgentView, type OwnableView,
} from './agent-belongings';
export { admitQueuedTasks, admitTemplateTasks, holdTasksForMissingReference } from './admission';
export { decideCleanup, type CleanupPolicy } from './cleanup';
export { findCondition, upsertConditions } from './conditions';
export { decideCronJobSuspend, decideCronTask } from './crontask';
export { decideGitRollout, gitHashAnnotation, type GitRolloutInput } from './git-rollout';
export { dueTimes, scheduleProblem, type CronSchedule, type DueTimes } from './schedule';
export { decideSessionFinalizer, endsTask, stopsTask, withSessionOutcome, type SessionFacts, type TaskStatusWrite } from './session';
export { decideStandby, heartbeatStaleness } from './standby';
export { decidePodCreationFailed, decideTaskFromPod } from './task-pod';
export { byQueueOrder, isActive, isFinished, isStopRequested, isWaiting } from './tasks';
export { parseGoDurationMs, type EpochMs } from './time';
export type * from './views';
export { NOTHING, isStatusWrite, writeTarget, type StatusWrite, type AgentStatusPatch, type CronTaskStatusPatch, type Decision, type NewTask, type OwnedResource, type OwnerReference, type ServerStatusFields, type TaskSessionStatus, type TaskStatusPatch, type Write } from './writes';
