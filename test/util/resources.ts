/** The REST path of an object, for the kinds the library emits (kubectl would ask discovery; tests know the list). */
const KINDS: Record<string, { group: string; plural: string; namespaced: boolean }> = {
  'v1/Namespace': { group: '/api/v1', plural: 'namespaces', namespaced: false },
  'v1/ConfigMap': { group: '/api/v1', plural: 'configmaps', namespaced: true },
  'v1/Secret': { group: '/api/v1', plural: 'secrets', namespaced: true },
  'v1/Service': { group: '/api/v1', plural: 'services', namespaced: true },
  'v1/ServiceAccount': { group: '/api/v1', plural: 'serviceaccounts', namespaced: true },
  'v1/PersistentVolumeClaim': { group: '/api/v1', plural: 'persistentvolumeclaims', namespaced: true },
  'v1/PodTemplate': { group: '/api/v1', plural: 'podtemplates', namespaced: true },
  'v1/Pod': { group: '/api/v1', plural: 'pods', namespaced: true },
  'apps/v1/Deployment': { group: '/apis/apps/v1', plural: 'deployments', namespaced: true },
  'batch/v1/CronJob': { group: '/apis/batch/v1', plural: 'cronjobs', namespaced: true },
  'batch/v1/Job': { group: '/apis/batch/v1', plural: 'jobs', namespaced: true },
  'networking.k8s.io/v1/NetworkPolicy': { group: '/apis/networking.k8s.io/v1', plural: 'networkpolicies', namespaced: true },
  'rbac.authorization.k8s.io/v1/Role': { group: '/apis/rbac.authorization.k8s.io/v1', plural: 'roles', namespaced: true },
  'rbac.authorization.k8s.io/v1/RoleBinding': { group: '/apis/rbac.authorization.k8s.io/v1', plural: 'rolebindings', namespaced: true },
  'rbac.authorization.k8s.io/v1/ClusterRole': { group: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterroles', namespaced: false },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { group: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterrolebindings', namespaced: false },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': { group: '/apis/apiextensions.k8s.io/v1', plural: 'customresourcedefinitions', namespaced: false },
  'kubeopencode.io/v1alpha1/Agent': { group: '/apis/kubeopencode.io/v1alpha1', plural: 'agents', namespaced: true },
  'kubeopencode.io/v1alpha1/AgentTemplate': { group: '/apis/kubeopencode.io/v1alpha1', plural: 'agenttemplates', namespaced: true },
  'kubeopencode.io/v1alpha1/Task': { group: '/apis/kubeopencode.io/v1alpha1', plural: 'tasks', namespaced: true },
  'kubeopencode.io/v1alpha1/CronTask': { group: '/apis/kubeopencode.io/v1alpha1', plural: 'crontasks', namespaced: true },
  'kubeopencode.io/v1alpha1/KubeOpenCodeConfig': { group: '/apis/kubeopencode.io/v1alpha1', plural: 'kubeopencodeconfigs', namespaced: false },
};

export function resourcePath(o: { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } }, withName = true): string {
  const k = KINDS[`${o.apiVersion}/${o.kind}`];
  if (!k) throw new Error(`resourcePath: unknown kind ${o.apiVersion} ${o.kind}`);
  const ns = k.namespaced ? `/namespaces/${o.metadata?.namespace ?? 'default'}` : '';
  return `${k.group}${ns}/${k.plural}${withName ? `/${o.metadata?.name}` : ''}`;
}
