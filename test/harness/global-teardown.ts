/** jest globalTeardown: stop, by PID, what global-setup.ts started. */
import { stopTestCluster } from './cluster';

export default async function globalTeardown(): Promise<void> {
  await stopTestCluster();
}
