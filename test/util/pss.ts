/**
 * The Pod Security Standards' Baseline and Restricted profiles (kubernetes.io/docs/concepts/security/pod-security-standards,
 * policy version "latest"), as checks on a pod spec. Written from the published table because no maintained npm package
 * implements them; each check names the control as the documentation does, so a failure reads like an admission
 * rejection ("restricted: runAsNonRoot != true ...").
 *
 * Not covered (our manifests never set them, and the checks below would need node facts): Windows host process is
 * checked, AppArmor annotations/fields, SELinux options and /proc mount type are checked for their allowed values.
 */
export type Obj = Record<string, any>;

const BASELINE_CAPABILITIES = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE',
  'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);
const SAFE_SYSCTLS = new Set(['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes']);
const RESTRICTED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

/** Every violation of the Restricted profile (which includes Baseline) in a pod spec; [] when the pod is admitted. */
export function restrictedViolations(pod: Obj): string[] {
  const out: string[] = [];
  const psc: Obj = pod.securityContext ?? {};
  const containers: Obj[] = [...(pod.initContainers ?? []), ...(pod.containers ?? []), ...(pod.ephemeralContainers ?? [])];
  const each = (what: string, bad: (c: Obj, sc: Obj) => boolean) => {
    const names = containers.filter((c) => bad(c, c.securityContext ?? {})).map((c) => c.name);
    if (names.length) out.push(`${what}: containers ${names.join(', ')}`);
  };

  // ---- Baseline
  if (psc.windowsOptions?.hostProcess === true) out.push('baseline: hostProcess at pod level');
  each('baseline: windowsOptions.hostProcess', (_c, sc) => sc.windowsOptions?.hostProcess === true);
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC']) if (pod[f] === true) out.push(`baseline: ${f} must not be true`);
  each('baseline: privileged', (_c, sc) => sc.privileged === true);
  each('baseline: capabilities.add beyond the baseline set', (_c, sc) => (sc.capabilities?.add ?? []).some((a: string) => !BASELINE_CAPABILITIES.has(a)));
  const hostPath = (pod.volumes ?? []).filter((v: Obj) => v.hostPath).map((v: Obj) => v.name);
  if (hostPath.length) out.push(`baseline: hostPath volumes ${hostPath.join(', ')}`);
  each('baseline: hostPort', (c) => (c.ports ?? []).some((p: Obj) => p.hostPort !== undefined && p.hostPort !== 0));
  const appArmor = (p: Obj | undefined) => p !== undefined && !['RuntimeDefault', 'Localhost'].includes(p.type);
  if (appArmor(psc.appArmorProfile)) out.push('baseline: pod appArmorProfile must be RuntimeDefault or Localhost');
  each('baseline: appArmorProfile', (_c, sc) => appArmor(sc.appArmorProfile));
  const seLinux = (o: Obj | undefined) => o !== undefined && (!SELINUX_TYPES.has(o.type ?? '') || o.user !== undefined || o.role !== undefined);
  if (seLinux(psc.seLinuxOptions)) out.push('baseline: pod seLinuxOptions');
  each('baseline: seLinuxOptions', (_c, sc) => seLinux(sc.seLinuxOptions));
  each('baseline: procMount must be Default', (_c, sc) => sc.procMount !== undefined && sc.procMount !== 'Default');
  if (psc.seccompProfile?.type === 'Unconfined') out.push('baseline: pod seccompProfile Unconfined');
  each('baseline: seccompProfile Unconfined', (_c, sc) => sc.seccompProfile?.type === 'Unconfined');
  const sysctls = (psc.sysctls ?? []).filter((s: Obj) => !SAFE_SYSCTLS.has(s.name)).map((s: Obj) => s.name);
  if (sysctls.length) out.push(`baseline: unsafe sysctls ${sysctls.join(', ')}`);

  // ---- Restricted
  const badVolumes = (pod.volumes ?? []).filter((v: Obj) => !Object.keys(v).some((k) => RESTRICTED_VOLUMES.includes(k))).map((v: Obj) => v.name);
  if (badVolumes.length) out.push(`restricted: volume types other than ${RESTRICTED_VOLUMES.join('/')}: ${badVolumes.join(', ')}`);
  each('restricted: allowPrivilegeEscalation != false', (_c, sc) => sc.allowPrivilegeEscalation !== false);
  // runAsNonRoot: true at pod level (and no container false), or true on every container
  each('restricted: runAsNonRoot != true', (_c, sc) => (sc.runAsNonRoot ?? psc.runAsNonRoot) !== true);
  if (psc.runAsUser === 0) out.push('restricted: pod runAsUser = 0');
  each('restricted: runAsUser = 0', (_c, sc) => sc.runAsUser === 0);
  const podSeccompOk = ['RuntimeDefault', 'Localhost'].includes(psc.seccompProfile?.type);
  each('restricted: seccompProfile must be RuntimeDefault or Localhost', (_c, sc) =>
    sc.seccompProfile === undefined ? !podSeccompOk : !['RuntimeDefault', 'Localhost'].includes(sc.seccompProfile.type));
  each('restricted: capabilities.drop must include ALL', (_c, sc) => !(sc.capabilities?.drop ?? []).includes('ALL'));
  each('restricted: capabilities.add beyond NET_BIND_SERVICE', (_c, sc) => (sc.capabilities?.add ?? []).some((a: string) => a !== 'NET_BIND_SERVICE'));
  return out;
}

/** The pod specs in a manifest, by `Kind/name`: Pods, PodTemplates, workloads and CronJobs. */
export function podSpecsOf(objects: readonly Obj[]): Array<[string, Obj]> {
  const out: Array<[string, Obj]> = [];
  for (const o of objects) {
    const id = `${o.kind}/${o.metadata?.name}`;
    const spec = o.kind === 'Pod' ? o.spec
      : o.kind === 'PodTemplate' ? o.template?.spec
        : o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.template?.spec
          : ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(o.kind) ? o.spec?.template?.spec
            : undefined;
    if (spec) out.push([id, spec]);
  }
  return out;
}
