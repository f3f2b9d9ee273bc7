import * as path from 'path';
import { k8s } from 'cdk8s-plus-28';
import { CredentialSpec, DEFAULTS } from '../api';
import { Problems, isDnsSubdomain, isEnvName } from '../validation';

/** Credentials as env vars (secretKeyRef) and files (a Secret volume per file credential). */
export interface CredentialWiring {
  readonly env: k8s.EnvVar[];
  readonly volumes: k8s.Volume[];
  readonly mounts: k8s.VolumeMount[];
}

export function validateCredentials(creds: readonly CredentialSpec[] | undefined, problems: Problems, field = 'credentials'): void {
  const seen = new Set<string>();
  (creds ?? []).forEach((c, i) => {
    const f = `${field}[${i}]`;
    problems.check(!!c.name, `${f}.name`, 'is required');
    problems.check(!seen.has(c.name), `${f}.name`, `'${c.name}' is used twice; credential names must be unique`);
    seen.add(c.name);
    problems.check(!!c.secretRef?.name && isDnsSubdomain(c.secretRef.name), `${f}.secretRef.name`, 'must name a Secret (a DNS subdomain)');
    problems.check(!!c.env || !!c.mountPath, f, `credential '${c.name}' needs env (an environment variable) or mountPath (a file)`);
    if (c.env !== undefined) {
      problems.check(isEnvName(c.env), `${f}.env`, `'${c.env}' is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)`);
      problems.check(!!c.secretRef?.key, `${f}.secretRef.key`, 'is required with env (which key of the Secret?)');
    }
    if (c.mountPath !== undefined) {
      problems.check(c.mountPath.startsWith('/'), `${f}.mountPath`, `'${c.mountPath}' must be an absolute path`);
    }
    if (c.fileMode !== undefined) {
      problems.check(Number.isInteger(c.fileMode) && c.fileMode >= 0 && c.fileMode <= 0o777, `${f}.fileMode`,
        `${c.fileMode} is not a file mode (0 to 511, e.g. 256 for 0400)`);
    }
  });
}

export function credentialWiring(creds: readonly CredentialSpec[] | undefined): CredentialWiring {
  const env: k8s.EnvVar[] = [];
  const volumes: k8s.Volume[] = [];
  const mounts: k8s.VolumeMount[] = [];
  (creds ?? []).forEach((c, i) => {
    if (c.env) env.push({ name: c.env, valueFrom: { secretKeyRef: { name: c.secretRef.name, key: c.secretRef.key! } } });
    if (!c.mountPath) return;
    const volume = `credential-${i}`;
    const mode = c.fileMode ?? DEFAULTS.credentialFileMode;
    if (c.secretRef.key) {
      // one file at exactly mountPath
      const file = path.posix.basename(c.mountPath);
      volumes.push({ name: volume, secret: { secretName: c.secretRef.name, items: [{ key: c.secretRef.key, path: file, mode }] } });
      mounts.push({ name: volume, mountPath: c.mountPath, subPath: file, readOnly: true });
    } else {
      // every key of the Secret as a file in the directory mountPath
      volumes.push({ name: volume, secret: { secretName: c.secretRef.name, defaultMode: mode } });
      mounts.push({ name: volume, mountPath: c.mountPath, readOnly: true });
    }
  });
  return { env, volumes, mounts };
}
