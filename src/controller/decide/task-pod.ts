/**
 * A Task's life after admission: creating its pod, following it to Completed or Failed, stop and timeout.
 *
 * Fixes KubeOpenCode bug (d): a Running Task whose pod vanished fails (PodLost), and a pod that cannot start
 * (image pull, container config, scheduling) fails the Task after a grace period, so no Task holds a capacity slot
 * forever.
 */
import { CONDITIONS, CONTROLLER_DEFAULTS, NAMES, REASONS } from '../../api';
import { conditionChange, findCondition } from './conditions';
import { isStopRequested } from './tasks';
import { earliest, parseGoDurationMs, type EpochMs } from './time';
import type { Condition, ContainerStatusView, PodView, TaskView } from './views';
import { NOTHING, type Decision, type TaskStatusPatch, type Write } from './writes';

const IMAGE_PULL_RETRIED = new Set(['ImagePullBackOff', 'ErrImagePull']);
/** These never recover by waiting. */
const IMAGE_PULL_HOPELESS = new Set(['InvalidImageName', 'ErrImageNeverPull']);
const CONFIG_ERRORS = new Set(['CreateContainerConfigError', 'CreateContainerError']);

/**
 * Decides for one Task from its pod `{task}-pod` (`pod` undefined: a live GET answered 404).
 *
 * In order of precedence, for a Running Task:
 * 1. pod ended by itself (not while being deleted for a stop or timeout): Succeeded → Completed; Failed → Failed,
 *    Ready=False/PodFailed with the first non-zero container's exit code and reason. What happened wins over a stop or
 *    timeout noticed later.
 * 2. stop annotation → delete the pod, Completed, condition Stopped/UserStopped.
 * 3. spec.timeout elapsed since startTime → delete the pod, Completed, Stopped/Timeout. Deleting the pod is what makes
 *    it end, so a crash between the delete and the status write still reads as a stop or timeout, not as a failure.
 * 4. no status.podName yet (a Task started by an older controller, which wrote Running before the pod) → create the
 *    pod (unless a pod of an earlier Task of this name is still going away), then record podName. Admission now
 *    creates the pod and writes Running with podName itself.
 * 5. status.podName set but no pod → Failed, PodLost.
 * 6. a container waiting in ImagePullBackOff/ErrImagePull or CreateContainerConfigError, or the pod Unschedulable,
 *    for longer than the grace period → Failed (ImagePullFailed, ContainerConfigError, Unschedulable).
 * A Task that has not started only reacts to the stop annotation (Completed, UserStopped; a pod an interrupted
 * admission left is deleted first).
 * wakeAt: the timeout, or the end of a grace period that is running.
 */
export function decideTaskFromPod(
  task: TaskView,
  pod: PodView | undefined,
  now: EpochMs,
  podStartGraceSeconds: number = CONTROLLER_DEFAULTS.podStartGraceSeconds,
): Decision {
  const phase = task.status?.phase;
  if (phase === 'Completed' || phase === 'Failed') return NOTHING;
  const podName = NAMES.taskPod(task.name);
  const ownPod = pod && (pod.ownerTaskUid === undefined || pod.ownerTaskUid === task.uid) ? pod : undefined;
  const deletePod: Write[] = ownPod && ownPod.deletionTimestamp === undefined ? [{ kind: 'deletePod', namespace: task.namespace, name: podName }] : [];
  if (phase !== 'Running') {
    // a pod here was created by an admission that crashed before its Running write: the stop deletes it too
    return isStopRequested(task) ? finish(task, 'Completed', stopped(REASONS.userStopped, 'Stopped by the kubeopencode.io/stop annotation before it started'), now, deletePod) : NOTHING;
  }

  const deadline = timeoutDeadline(task);
  const timedOut = deadline !== undefined && now >= deadline;
  const endedByUs = ownPod?.deletionTimestamp !== undefined && (isStopRequested(task) || timedOut);
  if (ownPod?.phase === 'Succeeded' && !endedByUs) return finish(task, 'Completed', undefined, now);
  if (ownPod?.phase === 'Failed' && !endedByUs) return finish(task, 'Failed', failed(REASONS.podFailed, failureMessage(ownPod)), now);
  if (isStopRequested(task)) {
    return finish(task, 'Completed', stopped(REASONS.userStopped, 'Stopped by the kubeopencode.io/stop annotation'), now, deletePod);
  }
  if (timedOut) return finish(task, 'Completed', stopped(REASONS.timeout, `Stopped after spec.timeout (${task.spec.timeout})`), now, deletePod);

  if (task.status?.podName === undefined) {
    if (pod && !ownPod) return { writes: [], wakeAt: deadline }; // the old pod's deletion is a watch event
    const create: Write[] = ownPod ? [] : [{ kind: 'createTaskPod', namespace: task.namespace, taskName: task.name, taskUid: task.uid, podName }];
    return { writes: [...create, { kind: 'patchTaskStatus', namespace: task.namespace, name: task.name, uid: task.uid, status: { podName } }], wakeAt: deadline };
  }
  if (!ownPod) return finish(task, 'Failed', failed(REASONS.podLost, `Pod '${podName}' disappeared while the Task was running`), now);

  const stuck = stuckReason(ownPod, now, podStartGraceSeconds * 1000);
  if (stuck.failure) return finish(task, 'Failed', stuck.failure, now);
  return { writes: [], wakeAt: earliest(deadline, stuck.wakeAt) };
}

function timeoutDeadline(task: TaskView): EpochMs | undefined {
  const start = task.status?.startTime;
  const timeoutMs = task.spec.timeout === undefined ? undefined : parseGoDurationMs(task.spec.timeout);
  return start === undefined || timeoutMs === undefined ? undefined : start + timeoutMs;
}

type Outcome = Omit<Condition, 'lastTransitionTime'>;
const stopped = (reason: string, message: string): Outcome => ({ type: CONDITIONS.stopped, status: 'True', reason, message });
const failed = (reason: string, message: string): Outcome => ({ type: CONDITIONS.ready, status: 'False', reason, message });

/** The terminal status write, after `before` (the pod delete). A Queued condition still True is closed too. */
function finish(task: TaskView, phase: 'Completed' | 'Failed', outcome: Outcome | undefined, now: EpochMs, before: readonly Write[] = []): Decision {
  const conditions: Condition[] = [];
  const queued = findCondition(task.status?.conditions, CONDITIONS.queued);
  if (queued?.status === 'True') {
    const closed = conditionChange(task.status?.conditions, { type: CONDITIONS.queued, status: 'False', reason: outcome?.reason ?? phase, message: 'Left the queue without starting' }, now);
    if (closed) conditions.push(closed);
  }
  const change = outcome && conditionChange(task.status?.conditions, outcome, now);
  if (change) conditions.push(change);
  const status: TaskStatusPatch = { phase, completionTime: now, ...(conditions.length ? { conditions } : {}) };
  return { writes: [...before, { kind: 'patchTaskStatus', namespace: task.namespace, name: task.name, uid: task.uid, status }] };
}

/** "container 'agent' exited with code 137 (OOMKilled)": the first non-zero exit, init containers first. */
function failureMessage(pod: PodView): string {
  for (const c of [...(pod.initContainerStatuses ?? []), ...(pod.containerStatuses ?? [])]) {
    const t = c.state?.terminated;
    if (t && t.exitCode !== 0) {
      const detail = t.message ? `: ${truncate(t.message)}` : '';
      return `Container '${c.name}' exited with code ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}${detail}`;
    }
  }
  const podDetail = [pod.reason, pod.message && truncate(pod.message)].filter(Boolean).join(': ');
  return `Pod '${pod.name}' failed${podDetail ? `: ${podDetail}` : ''}`;
}

const truncate = (s: string, max = 300): string => (s.length > max ? `${s.slice(0, max)}…` : s);

/**
 * Whether the pod is stuck before it can run. How long a container has been waiting is not in the pod, so it is
 * measured from when it could first have started: the pod's creation, the previous init container's finish, or (for
 * main containers) the Initialized condition.
 */
function stuckReason(pod: PodView, now: EpochMs, graceMs: number): { failure?: Outcome; wakeAt?: EpochMs } {
  let wakeAt: EpochMs | undefined;
  const consider = (since: EpochMs, failure: Outcome): Outcome | undefined => {
    if (now - since >= graceMs) return failure;
    wakeAt = earliest(wakeAt, since + graceMs);
    return undefined;
  };
  const graceText = `${Math.round(graceMs / 1000)}s`;

  const initialized = pod.conditions?.find((c) => c.type === 'Initialized' && c.status === 'True')?.lastTransitionTime;
  const containers: Array<[ContainerStatusView, EpochMs]> = [];
  let previousFinish = pod.creationTimestamp;
  for (const c of pod.initContainerStatuses ?? []) {
    containers.push([c, previousFinish]);
    previousFinish = Math.max(previousFinish, c.state?.terminated?.finishedAt ?? previousFinish);
  }
  for (const c of pod.containerStatuses ?? []) containers.push([c, Math.max(pod.creationTimestamp, initialized ?? pod.creationTimestamp)]);

  for (const [c, since] of containers) {
    const reason = c.state?.waiting?.reason;
    if (reason === undefined) continue;
    const detail = c.state?.waiting?.message ? `: ${truncate(c.state.waiting.message)}` : '';
    if (IMAGE_PULL_HOPELESS.has(reason)) return { failure: failed(REASONS.imagePullFailed, `Container '${c.name}' cannot pull its image (${reason})${detail}`) };
    const failure = IMAGE_PULL_RETRIED.has(reason)
      ? consider(since, failed(REASONS.imagePullFailed, `Container '${c.name}' could not pull its image for ${graceText} (${reason})${detail}`))
      : CONFIG_ERRORS.has(reason)
        ? consider(since, failed(REASONS.containerConfigError, `Container '${c.name}' could not be created for ${graceText} (${reason})${detail}`))
        : undefined;
    if (failure) return { failure };
  }

  const scheduled = pod.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    const since = scheduled.lastTransitionTime ?? pod.creationTimestamp;
    const detail = scheduled.message ? `: ${truncate(scheduled.message)}` : '';
    const failure = consider(since, failed(REASONS.unschedulable, `Pod '${pod.name}' could not be scheduled for ${graceText}${detail}`));
    if (failure) return { failure };
  }
  return { wakeAt };
}

/**
 * The Task's pod could not be made (its PodTemplate is missing, or the API server refused it): the Task fails with
 * PodCreationError, and a Queued condition still True is closed (it left the queue without starting).
 */
export function decidePodCreationFailed(task: TaskView, message: string, now: EpochMs): Decision {
  return finish(task, 'Failed', failed(REASONS.podCreationError, message), now);
}
