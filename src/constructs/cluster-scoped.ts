import { ApiObject, Chart, JsonPatch } from 'cdk8s';

/** cdk8s puts the chart's namespace on every object; a cluster-scoped object (CRD, ClusterRole, …) must not have one. */
export function clusterScoped<T extends ApiObject>(obj: T): T {
  if (Chart.of(obj).namespace !== undefined) obj.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  return obj;
}
