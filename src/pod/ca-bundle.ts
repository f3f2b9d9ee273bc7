import { k8s } from 'cdk8s-plus-28';
import { CaBundleSpec, DEFAULTS, ENV, PATHS } from '../api';

const VOLUME = 'custom-ca';

/** The private CA, as a volume, a mount at /etc/ssl/certs/custom-ca/tls.crt and CUSTOM_CA_CERT_PATH. */
export interface CaWiring {
  readonly volume: k8s.Volume;
  readonly mount: k8s.VolumeMount;
  readonly env: k8s.EnvVar;
}

export function caBundleWiring(ca: CaBundleSpec | undefined): CaWiring | undefined {
  if (!ca) return undefined;
  const items = (key: string) => [{ key, path: 'tls.crt' }];
  const volume: k8s.Volume = ca.configMapRef
    ? { name: VOLUME, configMap: { name: ca.configMapRef.name, items: items(ca.configMapRef.key ?? DEFAULTS.caConfigMapKey) } }
    : { name: VOLUME, secret: { secretName: ca.secretRef!.name, items: items(ca.secretRef!.key ?? DEFAULTS.caSecretKey) } };
  return {
    volume,
    mount: { name: VOLUME, mountPath: PATHS.customCaDir, readOnly: true },
    env: { name: ENV.customCaCertPath, value: PATHS.customCaCert },
  };
}
