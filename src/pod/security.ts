import { k8s } from 'cdk8s-plus-28';
import type { PodSettings } from '../api';
import { Problems } from '../validation';
import { checkKnownFields } from './native';
import { podResourceFields } from './resources';

/**
 * The Restricted Pod Security Standard's container settings, applied to every container (init containers and sidecars
 * included) unless podSpec.securityContext replaces them.
 */
export const RESTRICTED_SECURITY_CONTEXT: k8s.SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

export function containerSecurityContext(pod: PodSettings | undefined): k8s.SecurityContext {
  return (pod?.securityContext as k8s.SecurityContext | undefined) ?? RESTRICTED_SECURITY_CONTEXT;
}

export function podSecurityContext(pod: PodSettings | undefined): k8s.PodSecurityContext | undefined {
  return pod?.podSecurityContext as k8s.PodSecurityContext | undefined;
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
    checkKnownFields(problems, field, value, (r: any) => k8s.toJson_ResourceRequirements(resourceRequirements(r)));
  }
}

/** podSpec.resources as YAML gives it (quantities as strings or numbers) → the L1 type. */
export function resourceRequirements(r: Record<string, any> | undefined): k8s.ResourceRequirements | undefined {
  if (!r) return undefined;
  const q = (m?: Record<string, string | number>) =>
    m
      ? Object.fromEntries(
        Object.entries(m).map(([k, v]) => [k, typeof v === 'number' ? k8s.Quantity.fromNumber(v) : k8s.Quantity.fromString(v)]),
      )
      : undefined;
  return { ...r, limits: q(r.limits), requests: q(r.requests) } as k8s.ResourceRequirements;
}
