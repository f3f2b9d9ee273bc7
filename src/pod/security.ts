import { k8s } from 'cdk8s-plus-28';
import type { PodSettings } from '../api';
import { Problems } from '../validation';
import { checkKnownFields } from './native';
import { ResourceSpec, podResourceFields, resourceRequirements } from './resources';

/**
 * The Restricted Pod Security Standard's container settings, applied to every container (init containers and sidecars
 * included). podSpec.securityContext is merged over them field by field: what the user sets wins, the rest stays.
 */
export const RESTRICTED_SECURITY_CONTEXT: k8s.SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/** The pod-level default: no container may run as root (the kubelet refuses one whose image user is root). */
export const RESTRICTED_POD_SECURITY_CONTEXT: k8s.PodSecurityContext = { runAsNonRoot: true };

/**
 * The uid of the containers that run our scripts (git-init, git-sync, url-fetch, context-init, opencode-init): their
 * pinned images run as root (alpine/git) or as a user name (curlimages/curl), which runAsNonRoot refuses. 65532 is the
 * conventional "nonroot" uid; the scripts need only HOME=/tmp and the volumes (emptyDirs are world-writable).
 */
export const SYSTEM_UID = 65532;

/** The main containers' security context: the restricted defaults with podSpec.securityContext merged over them. */
export function containerSecurityContext(pod: PodSettings | undefined): k8s.SecurityContext {
  return { ...RESTRICTED_SECURITY_CONTEXT, ...(pod?.securityContext as k8s.SecurityContext | undefined) };
}

/**
 * The script containers' security context: as the main containers', plus runAsUser 65532 unless the user chose a uid
 * (podSpec.securityContext.runAsUser or podSpec.podSecurityContext.runAsUser), which then applies to them too.
 */
export function systemSecurityContext(pod: PodSettings | undefined): k8s.SecurityContext {
  const sc = containerSecurityContext(pod);
  const chosen = sc.runAsUser !== undefined || (pod?.podSecurityContext as k8s.PodSecurityContext | undefined)?.runAsUser !== undefined;
  return chosen ? sc : { ...sc, runAsUser: SYSTEM_UID };
}

/** The pod's security context: runAsNonRoot true with podSpec.podSecurityContext merged over it. */
export function podSecurityContext(pod: PodSettings | undefined): k8s.PodSecurityContext {
  return { ...RESTRICTED_POD_SECURITY_CONTEXT, ...(pod?.podSecurityContext as k8s.PodSecurityContext | undefined) };
}

/** podSpec holds Kubernetes-native objects the CRD keeps as given: check their fields here, at synth. */
export function validatePodSettings(pod: PodSettings | undefined, problems: Problems): void {
  if (!pod) return;
  checkKnownFields(problems, 'podSpec.securityContext', pod.securityContext, k8s.toJson_SecurityContext);
  checkKnownFields(problems, 'podSpec.podSecurityContext', pod.podSecurityContext, k8s.toJson_PodSecurityContext);
  checkKnownFields(problems, 'podSpec.scheduling.affinity', pod.scheduling?.affinity, k8s.toJson_Affinity);
  (pod.scheduling?.tolerations ?? []).forEach((t, i) =>
    checkKnownFields(problems, `podSpec.scheduling.tolerations[${i}]`, t, k8s.toJson_Toleration),
  );
  for (const [field, value] of podResourceFields(pod)) {
    checkKnownFields(problems, field, value, (r: ResourceSpec) => k8s.toJson_ResourceRequirements(resourceRequirements(r)));
  }
}
