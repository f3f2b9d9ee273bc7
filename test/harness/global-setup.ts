/**
 * jest globalSetup: start one etcd + test-apiserver for the whole run (or adopt KUBECONFIG when
 * KUBEOPENCODE_USE_EXISTING_CLUSTER=1). Workers find it through process.env.KUBECONFIG_TEST and
 * process.env.KUBEOPENCODE_TEST_CLUSTER_STATE, which they inherit.
 * Throws one clear line when the binaries are not provisioned (never skips silently).
 */
import { startTestCluster } from './cluster';

export default async function globalSetup(): Promise<void> {
  const state = await startTestCluster();
  if (process.env.KUBEOPENCODE_TEST_VERBOSE === '1') {
    process.stderr.write(`\ntest cluster: ${state.external ? 'existing' : `started in ${state.startedMs} ms`} at ${state.server || state.kubeconfig}\n`);
  }
}
