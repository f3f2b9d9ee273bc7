/**
 * Strict offline validation of Kubernetes manifests, in pure Node (ajv).
 *
 * Built-in kinds are validated against schemas/k8s-definitions.json (OpenAPI definitions generated from
 * k8s.io/api by scripts/openapi/generate.sh), custom resources against the openAPIV3Schema of their CRD in
 * crds/. Both schemas are "strictified" first so that what the API server would reject (or, worse,
 * silently drop) is an error here:
 *   - unknown fields: additionalProperties:false wherever properties are listed, unless
 *     x-kubernetes-preserve-unknown-fields (the server drops them silently without fieldValidation=Strict);
 *   - int-or-string and Quantity accept both JSON types; scalars accept null (omitempty fields);
 *   - formats int32/int64 (ranges), byte (base64), date-time;
 *   - list-type map/set uniqueness, label/annotation syntax, metadata.name rules per kind.
 * Not reproduced: CEL rules (x-kubernetes-validations) and the server's hand-written validation of
 * built-ins; use a server-side dry-run against the test apiserver (test/harness) for those.
 */
import * as fs from 'fs';
import * as path from 'path';
import Ajv, { AnySchema, ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import * as YAML from 'yaml';
import { podMountProblems } from '../../src/pod/mounts';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** Default directory of CRD YAML files whose custom resources can be validated. */
export const DEFAULT_CRD_DIR = path.join(REPO_ROOT, 'crds');
/** The generated definitions of the built-in types. */
export const DEFINITIONS_FILE = path.join(REPO_ROOT, 'schemas', 'k8s-definitions.json');

export interface ValidateOptions {
  /** Directory whose *.yaml / *.yml / *.json CRDs define the custom resources (default `<repo>/crds`). */
  readonly crdDir?: string;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };
type Schema = { [k: string]: unknown };

const K8S_ID = 'k8s';
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const CRD_DEF = 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition';

// ---- name and label rules (k8s.io/apimachinery/pkg/util/validation) --------------------------

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function dnsSubdomainErrors(v: string): string[] {
  if (v.length > 253) return ['must be no more than 253 characters'];
  return DNS1123_SUBDOMAIN.test(v) ? [] : ['must be a lowercase RFC 1123 subdomain ([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.…)*)'];
}
function dnsLabelErrors(v: string): string[] {
  if (v.length > 63) return ['must be no more than 63 characters'];
  return DNS1123_LABEL.test(v) ? [] : ['must be a lowercase RFC 1123 label ([a-z0-9]([-a-z0-9]*[a-z0-9])?)'];
}
function dns1035Errors(v: string): string[] {
  if (v.length > 63) return ['must be no more than 63 characters'];
  return DNS1035_LABEL.test(v) ? [] : ['must be an RFC 1035 label ([a-z]([-a-z0-9]*[a-z0-9])?)'];
}
function pathSegmentErrors(v: string): string[] {
  if (v === '.' || v === '..') return [`may not be '${v}'`];
  return /[/%]/.test(v) ? ["may not contain '/' or '%'"] : [];
}
/** Label and annotation keys: optional DNS-subdomain prefix, '/', name of at most 63 characters. */
function qualifiedNameErrors(key: string): string[] {
  const parts = key.split('/');
  if (parts.length > 2) return ['a qualified name may contain at most one "/"'];
  const name = parts[parts.length - 1];
  const errs: string[] = [];
  if (parts.length === 2) {
    if (parts[0] === '') errs.push('prefix part must be non-empty');
    else errs.push(...dnsSubdomainErrors(parts[0]).map((e) => `prefix part ${e}`));
  }
  if (name.length === 0 || name.length > 63) errs.push('name part must be 1-63 characters');
  else if (!QUALIFIED_NAME_PART.test(name)) errs.push('name part must consist of alphanumerics, "-", "_" or ".", starting and ending with an alphanumeric');
  return errs;
}
function labelValueErrors(v: string): string[] {
  if (v.length > 63) return ['must be no more than 63 characters'];
  return LABEL_VALUE.test(v) ? [] : ['must be empty or consist of alphanumerics, "-", "_" or ".", starting and ending with an alphanumeric'];
}

interface NameRule { check: (v: string) => string[]; maxLen?: number }
/** metadata.name rules that differ from the default (DNS-1123 subdomain), as in the real API server. */
const NAME_RULES: Record<string, NameRule> = {
  '/Namespace': { check: dnsLabelErrors },
  '/Service': { check: dns1035Errors },
  'batch/Job': { check: dnsSubdomainErrors, maxLen: 63 }, // becomes the job-name label value
  'batch/CronJob': { check: dnsSubdomainErrors, maxLen: 52 }, // Jobs get an 11-char suffix
  'rbac.authorization.k8s.io/Role': { check: pathSegmentErrors },
  'rbac.authorization.k8s.io/RoleBinding': { check: pathSegmentErrors },
  'rbac.authorization.k8s.io/ClusterRole': { check: pathSegmentErrors },
  'rbac.authorization.k8s.io/ClusterRoleBinding': { check: pathSegmentErrors },
};

// ---- schema transforms -----------------------------------------------------------------------

const SCALARS = new Set(['integer', 'number', 'boolean', 'string']);
// Keywords that only document or drive server-side behaviour we do not reproduce.
const DROPPED = new Set(['description', 'default', 'example', 'externalDocs', 'x-kubernetes-patch-strategy',
  'x-kubernetes-patch-merge-key', 'x-kubernetes-unions', 'x-kubernetes-map-type', 'x-kubernetes-validations',
  'x-kubernetes-group-version-kind', '$schema', 'id']);
const SCHEMA_MAPS = new Set(['properties', 'definitions', 'patternProperties', 'dependencies']);

/**
 * Turn an OpenAPI (v2 definition or CRD structural) schema into a strict JSON schema for ajv.
 * `isCrd` enables the CRD dialect (nullable, x-kubernetes-int-or-string, x-kubernetes-embedded-resource).
 */
function strictify(s: unknown, isCrd: boolean): unknown {
  if (Array.isArray(s)) return s.map((x) => strictify(x, isCrd));
  if (!s || typeof s !== 'object') return s;
  const o: Schema = {};
  for (const [k, v] of Object.entries(s as Schema)) {
    if (DROPPED.has(k)) continue;
    if (SCHEMA_MAPS.has(k) && v && typeof v === 'object' && !Array.isArray(v)) {
      o[k] = Object.fromEntries(Object.entries(v as Schema).map(([p, ps]) => [p, strictify(ps, isCrd)]));
    } else if (k === 'enum' || k === 'required' || k === 'const') {
      o[k] = v; // data, not schemas
    } else {
      o[k] = strictify(v, isCrd);
    }
  }
  if (o.format === 'int-or-string' || o['x-kubernetes-int-or-string'] === true) {
    delete o.format; delete o.type; delete o.oneOf; delete o['x-kubernetes-int-or-string'];
    o.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (o.format === 'quantity' || o.format === '') delete o.format;
  if (isCrd && o['x-kubernetes-embedded-resource'] === true && o.properties) {
    // apiVersion/kind/metadata are implicit in an embedded resource
    const props = o.properties as Schema;
    props.apiVersion ??= { type: 'string' };
    props.kind ??= { type: 'string' };
    props.metadata ??= { type: 'object' };
  }
  if (o.properties && o.additionalProperties === undefined && o['x-kubernetes-preserve-unknown-fields'] !== true) {
    o.additionalProperties = false;
  }
  if (typeof o.type === 'string' && SCALARS.has(o.type) && !isCrd) o.nullable = true; // omitempty fields may be null
  if (o.nullable === true && o.type === undefined) delete o.nullable; // ajv needs a type with nullable
  return o;
}

// ---- the ajv instance, shared by built-ins and CRDs -----------------------------------------

const INT32 = 2 ** 31;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function listKeyErrors(keys: string[], data: unknown): string | undefined {
  if (!Array.isArray(data)) return undefined;
  const seen = new Set<string>();
  for (const item of data) {
    if (!item || typeof item !== 'object') continue;
    const id = JSON.stringify(keys.map((k) => (item as Record<string, unknown>)[k] ?? null));
    if (seen.has(id)) return `has duplicate entries for key ${keys.map((k, i) => `${k}=${JSON.stringify(JSON.parse(id)[i])}`).join(',')}`;
    seen.add(id);
  }
  return undefined;
}

function makeAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
  addFormats(ajv, ['date-time', 'date', 'uri', 'email', 'hostname', 'ipv4', 'ipv6', 'uuid', 'duration']);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -INT32 && n < INT32 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('byte', { type: 'string', validate: (s: string) => BASE64.test(s) });
  // Lists whose items are identified by keys (containers by name, ports by containerPort+protocol...):
  // duplicates are rejected by the server (validation, or server-side apply).
  ajv.addKeyword({
    keyword: 'x-kubernetes-list-map-keys',
    schemaType: 'array',
    errors: true,
    validate: function v(keys: string[], data: unknown) {
      const msg = listKeyErrors(keys, data);
      (v as unknown as { errors: Partial<ErrorObject>[] }).errors = msg ? [{ keyword: 'x-kubernetes-list-map-keys', message: msg, params: {} }] : [];
      return !msg;
    },
  });
  ajv.addKeyword({
    keyword: 'x-kubernetes-list-type',
    schemaType: 'string',
    errors: true,
    validate: function v(type: string, data: unknown) {
      if (type !== 'set' || !Array.isArray(data)) return true;
      const seen = new Set(data.map((x) => JSON.stringify(x)));
      const ok = seen.size === data.length;
      (v as unknown as { errors: Partial<ErrorObject>[] }).errors = ok ? [] : [{ keyword: 'x-kubernetes-list-type', message: 'has duplicate items (x-kubernetes-list-type: set)', params: {} }];
      return ok;
    },
  });
  // Label maps (metadata.labels, selector matchLabels) and annotation keys have a syntax.
  ajv.addKeyword({
    keyword: 'x-kubeopencode-labels',
    errors: true,
    validate: function v(kind: 'labels' | 'annotations', data: unknown) {
      const errs: Partial<ErrorObject>[] = [];
      if (data && typeof data === 'object' && !Array.isArray(data)) {
        let size = 0;
        for (const [k, val] of Object.entries(data)) {
          for (const e of qualifiedNameErrors(k)) errs.push({ keyword: kind, message: `key '${k}': ${e}`, params: {} });
          if (kind === 'labels' && typeof val === 'string') {
            for (const e of labelValueErrors(val)) errs.push({ keyword: kind, message: `value of '${k}': ${e}`, params: {} });
          }
          size += k.length + (typeof val === 'string' ? val.length : 0);
        }
        if (kind === 'annotations' && size > 256 * 1024) errs.push({ keyword: kind, message: 'total size must be at most 256 KiB', params: {} });
      }
      (v as unknown as { errors: Partial<ErrorObject>[] }).errors = errs;
      return errs.length === 0;
    },
  });
  return ajv;
}

interface BuiltinIndex {
  ajv: Ajv;
  defs: Record<string, Schema>;
  /** "group/version/Kind" -> definition name */
  byGvk: Map<string, string>;
  compiled: Map<string, ValidateFunction>;
}

let builtins: BuiltinIndex | undefined;

function loadBuiltins(): BuiltinIndex {
  if (builtins) return builtins;
  if (!fs.existsSync(DEFINITIONS_FILE)) {
    throw new Error(`${DEFINITIONS_FILE} is missing: run bash scripts/openapi/generate.sh`);
  }
  const raw = JSON.parse(fs.readFileSync(DEFINITIONS_FILE, 'utf8')) as { definitions: Record<string, Schema> };
  const byGvk = new Map<string, string>();
  const defs: Record<string, Schema> = {};
  for (const [name, def] of Object.entries(raw.definitions)) {
    const gvks = def['x-kubernetes-group-version-kind'] as { group: string; version: string; kind: string }[] | undefined;
    for (const g of gvks ?? []) {
      // A kind registered in several groups (DeleteOptions, WatchEvent) keeps its own group's entry.
      if (!byGvk.has(`${g.group}/${g.version}/${g.kind}`)) byGvk.set(`${g.group}/${g.version}/${g.kind}`, name);
    }
    defs[name] = strictify(def, false) as Schema;
  }
  // Quantity: "1Gi", "500m" or a plain number
  defs['io.k8s.apimachinery.pkg.api.resource.Quantity'] = { anyOf: [{ type: 'string' }, { type: 'number' }] };
  // Whatever JSON (CRD defaults, examples, enum values)
  defs['io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON'] = {};
  annotateMeta(defs);
  const ajv = makeAjv();
  ajv.addSchema({ $id: K8S_ID, definitions: defs } as AnySchema);
  builtins = { ajv, defs, byGvk, compiled: new Map() };
  return builtins;
}

/** Attach the label/annotation syntax keyword to ObjectMeta and LabelSelector. */
function annotateMeta(defs: Record<string, Schema>): void {
  const meta = defs[OBJECT_META]?.properties as Record<string, Schema> | undefined;
  if (meta?.labels) meta.labels['x-kubeopencode-labels'] = 'labels';
  if (meta?.annotations) meta.annotations['x-kubeopencode-labels'] = 'annotations';
  const sel = defs['io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector']?.properties as Record<string, Schema> | undefined;
  if (sel?.matchLabels) sel.matchLabels['x-kubeopencode-labels'] = 'labels';
}

// ---- CRDs ------------------------------------------------------------------------------------

interface CrdVersion { schema: Schema; served: boolean }
interface CrdInfo { file: string; name: string; group: string; kind: string; plural: string; namespaced: boolean; versions: Map<string, CrdVersion> }
interface CrdIndex {
  signature: string;
  /** "group/Kind" -> CRD */
  byGroupKind: Map<string, CrdInfo>;
  compiled: Map<string, ValidateFunction>;
  errors: string[];
}

const crdIndexes = new Map<string, CrdIndex>();

function dirSignature(dir: string): { files: string[]; signature: string } {
  if (!fs.existsSync(dir)) return { files: [], signature: 'missing' };
  const files = fs.readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f)).sort().map((f) => path.join(dir, f));
  const signature = files.map((f) => { const st = fs.statSync(f); return `${f}:${st.size}:${st.mtimeMs}`; }).join('|');
  return { files, signature };
}

function loadCrds(dir: string): CrdIndex {
  const { files, signature } = dirSignature(dir);
  const cached = crdIndexes.get(dir);
  if (cached && cached.signature === signature) return cached;
  const b = loadBuiltins();
  if (cached) for (const fn of cached.compiled.values()) b.ajv.removeSchema(fn.schema as AnySchema);
  const index: CrdIndex = { signature, byGroupKind: new Map(), compiled: new Map(), errors: [] };
  for (const file of files) {
    const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'), { uniqueKeys: true });
    for (const d of docs) {
      if (d.errors.length) { index.errors.push(`${file}: YAML error: ${d.errors[0].message.split('\n')[0]}`); continue; }
      const crd = d.toJS() as JsonObject | null;
      if (!crd || crd.kind !== 'CustomResourceDefinition') continue;
      const spec = crd.spec as JsonObject;
      const names = spec.names as JsonObject;
      const versions = new Map<string, CrdVersion>();
      for (const v of (spec.versions as JsonObject[]) ?? []) {
        const schema = ((v.schema as JsonObject | undefined)?.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }) as Schema;
        versions.set(String(v.name), { schema, served: v.served !== false });
      }
      const info: CrdInfo = {
        file, name: String((crd.metadata as JsonObject).name), group: String(spec.group), kind: String(names.kind),
        plural: String(names.plural), namespaced: spec.scope !== 'Cluster', versions,
      };
      index.byGroupKind.set(`${info.group}/${info.kind}`, info);
    }
  }
  crdIndexes.set(dir, index);
  return index;
}

function compileCr(index: CrdIndex, crd: CrdInfo, version: string): ValidateFunction {
  const key = `${crd.group}/${version}/${crd.kind}`;
  const hit = index.compiled.get(key);
  if (hit) return hit;
  const b = loadBuiltins();
  const schema = strictify(crd.versions.get(version)!.schema, true) as Schema;
  const props = { ...((schema.properties as Schema | undefined) ?? {}) };
  // The envelope is implicit in a CRD schema; the server validates metadata as ObjectMeta and only
  // honours name constraints from the CRD's own metadata schema.
  const ownName = ((props.metadata as Schema | undefined)?.properties as Schema | undefined)?.name;
  props.apiVersion = { const: `${crd.group}/${version}` };
  props.kind = { const: crd.kind };
  props.metadata = ownName
    ? { allOf: [{ $ref: `${K8S_ID}#/definitions/${OBJECT_META}` }, { properties: { name: ownName } }] }
    : { $ref: `${K8S_ID}#/definitions/${OBJECT_META}` };
  const full: Schema = {
    ...schema,
    type: 'object',
    properties: props,
    required: ['apiVersion', 'kind', 'metadata', ...((schema.required as string[] | undefined) ?? [])],
  };
  if (full['x-kubernetes-preserve-unknown-fields'] !== true) full.additionalProperties = false;
  const fn = b.ajv.compile(full as AnySchema);
  index.compiled.set(key, fn);
  return fn;
}

// ---- validation ------------------------------------------------------------------------------

function describe(obj: JsonObject, i: number): string {
  const meta = (obj.metadata ?? {}) as JsonObject;
  const name = meta.name ?? (meta.generateName ? `${meta.generateName}*` : '<no name>');
  return `[${i}] ${obj.apiVersion ?? '?'} ${obj.kind ?? '?'} ${meta.namespace ? `${meta.namespace}/` : ''}${name}`;
}

function formatErrors(errors: ErrorObject[] | null | undefined): string[] {
  const out = new Set<string>();
  for (const e of errors ?? []) {
    // anyOf/oneOf wrappers repeat what their branches said
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf' || e.keyword === 'allOf' || e.keyword === 'if') continue;
    let msg = `${e.instancePath || '/'} ${e.message ?? e.keyword}`;
    const p = e.params as Record<string, unknown>;
    if (p?.additionalProperty !== undefined) msg = `${e.instancePath || '/'} has unknown field '${String(p.additionalProperty)}'`;
    if (p?.allowedValues !== undefined) msg += ` ${JSON.stringify(p.allowedValues)}`;
    if (p?.allowedValue !== undefined) msg += ` ${JSON.stringify(p.allowedValue)}`;
    out.add(msg);
  }
  return [...out];
}

function metadataErrors(obj: JsonObject, group: string, kind: string): string[] {
  const meta = obj.metadata as JsonObject | undefined;
  if (!meta || typeof meta !== 'object') return ['/metadata is required'];
  const errs: string[] = [];
  const rule = NAME_RULES[`${group}/${kind}`] ?? { check: dnsSubdomainErrors };
  if (typeof meta.name === 'string') {
    for (const e of rule.check(meta.name)) errs.push(`/metadata/name '${meta.name}' ${e}`);
    if (rule.maxLen && meta.name.length > rule.maxLen) errs.push(`/metadata/name '${meta.name}' must be no more than ${rule.maxLen} characters for a ${kind}`);
  } else if (typeof meta.generateName !== 'string') {
    errs.push('/metadata/name or /metadata/generateName is required');
  }
  if (typeof meta.namespace === 'string') for (const e of dnsLabelErrors(meta.namespace)) errs.push(`/metadata/namespace '${meta.namespace}' ${e}`);
  return errs;
}

/** Checks a CRD beyond its OpenAPI shape, as the API server's CRD validation would. */
function crdStructuralErrors(crd: JsonObject): string[] {
  const errs: string[] = [];
  const spec = crd.spec as JsonObject | undefined;
  if (!spec || typeof spec !== 'object') return ['/spec is required'];
  const names = (spec.names ?? {}) as JsonObject;
  const name = (crd.metadata as JsonObject | undefined)?.name;
  if (name !== `${names.plural}.${spec.group}`) errs.push(`/metadata/name must be '<spec.names.plural>.<spec.group>' = '${names.plural}.${spec.group}', got '${name}'`);
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') errs.push("/spec/scope must be 'Namespaced' or 'Cluster'");
  const versions = (spec.versions ?? []) as JsonObject[];
  if (versions.length === 0) errs.push('/spec/versions must not be empty');
  if (versions.filter((v) => v.storage === true).length !== 1) errs.push('/spec/versions must have exactly one version with storage: true');
  versions.forEach((v, i) => {
    const s = (v.schema as JsonObject | undefined)?.openAPIV3Schema as JsonObject | undefined;
    if (!s) errs.push(`/spec/versions/${i}/schema/openAPIV3Schema is required`);
    else if (s.type !== 'object') errs.push(`/spec/versions/${i}/schema/openAPIV3Schema/type must be 'object'`);
    else {
      const missing: string[] = [];
      findUntyped(s, `/spec/versions/${i}/schema/openAPIV3Schema`, missing, true);
      errs.push(...missing);
    }
  });
  return errs;
}

/** Structural schemas need a type on every node unless it preserves unknown fields or is int-or-string. */
function findUntyped(s: JsonObject, at: string, out: string[], root = false): void {
  if (!root && s.type === undefined && s['x-kubernetes-int-or-string'] !== true && s['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.push(`${at}/type: Required value (structural schema)`);
  }
  for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, JsonObject>)) findUntyped(v, `${at}/properties/${k}`, out);
  if (s.items && typeof s.items === 'object' && !Array.isArray(s.items)) findUntyped(s.items as JsonObject, `${at}/items`, out);
  if (s.additionalProperties && typeof s.additionalProperties === 'object') findUntyped(s.additionalProperties as JsonObject, `${at}/additionalProperties`, out);
}

function validateOne(obj: unknown, i: number, crdDir: string): string[] {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return [`[${i}] is not an object`];
  const o = obj as JsonObject;
  const where = describe(o, i);
  if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') return [`${where}: apiVersion and kind are required strings`];
  const slash = o.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : o.apiVersion.slice(0, slash);
  const version = slash < 0 ? o.apiVersion : o.apiVersion.slice(slash + 1);
  const errs: string[] = [];

  const b = loadBuiltins();
  const defName = b.byGvk.get(`${group}/${version}/${o.kind}`);
  if (defName) {
    let fn = b.compiled.get(defName);
    if (!fn) {
      fn = b.ajv.compile({ $ref: `${K8S_ID}#/definitions/${defName}` });
      b.compiled.set(defName, fn);
    }
    if (!fn(o)) errs.push(...formatErrors(fn.errors));
    errs.push(...metadataErrors(o, group, o.kind));
    if (defName === CRD_DEF) errs.push(...crdStructuralErrors(o));
    errs.push(...runtimeErrors(o));
    return errs.map((e) => `${where}: ${e}`);
  }

  const crds = loadCrds(crdDir);
  const crd = crds.byGroupKind.get(`${group}/${o.kind}`);
  if (!crd) {
    const load = crds.errors.length ? ` (CRD load errors: ${crds.errors.join('; ')})` : '';
    return [`${where}: unknown kind: no built-in definition in schemas/k8s-definitions.json and no CRD for ${o.kind}.${group || 'core'} in ${crdDir}${load}`];
  }
  const v = crd.versions.get(version);
  if (!v || !v.served) {
    return [`${where}: version ${version} is not served by CRD ${crd.name} (served: ${[...crd.versions].filter(([, x]) => x.served).map(([n]) => n).join(', ')})`];
  }
  const fn = compileCr(crds, crd, version);
  if (!fn(o)) errs.push(...formatErrors(fn.errors));
  errs.push(...metadataErrors(o, group, o.kind));
  if (crd.namespaced === false && (o.metadata as JsonObject | undefined)?.namespace) {
    errs.push(`/metadata/namespace must not be set: ${crd.kind} is cluster-scoped`);
  }
  return errs.map((e) => `${where}: ${e}`);
}

/** The pod spec of a workload object (Pod, PodTemplate, Deployment, Job, CronJob …), if it has one. */
function podSpecOf(o: JsonObject): JsonObject | undefined {
  const anyO = o as any;
  return anyO.kind === 'Pod' ? anyO.spec
    : anyO.template?.spec ?? anyO.spec?.template?.spec ?? anyO.spec?.jobTemplate?.spec?.template?.spec;
}

/**
 * What the schema allows but a node refuses: a mount point below a read-only mount (containerd orders mounts parent
 * first and runc cannot create the mount point on the read-only bind; kubernetes/kubernetes#121294).
 */
function runtimeErrors(o: JsonObject): string[] {
  const spec = podSpecOf(o);
  return spec && Array.isArray((spec as any).containers) ? podMountProblems(spec as any) : [];
}

/**
 * Validate Kubernetes objects (plain JSON, e.g. `Testing.synth(chart)`); returns human-readable errors,
 * empty when every object is valid. Schemas are compiled once and cached; the CRD directory is
 * re-read only when its files change.
 */
export function validateManifest(objects: readonly unknown[], opts: ValidateOptions = {}): string[] {
  const crdDir = path.resolve(opts.crdDir ?? DEFAULT_CRD_DIR);
  const errs: string[] = [];
  objects.forEach((obj, i) => errs.push(...validateOne(obj, i, crdDir)));
  return errs;
}

/** Like validateManifest, but throws one Error listing every problem. */
export function assertValidManifest(objects: readonly unknown[], opts: ValidateOptions = {}): void {
  const errs = validateManifest(objects, opts);
  if (errs.length) throw new Error(`invalid manifest (${errs.length} error${errs.length > 1 ? 's' : ''}):\n  ${errs.join('\n  ')}`);
}

/** Parse multi-document YAML strictly (duplicate keys are errors, as with kubectl's strict decoding). */
export function parseYamlDocuments(text: string): unknown[] {
  return YAML.parseAllDocuments(text, { uniqueKeys: true }).map((d, i) => {
    if (d.errors.length) throw new Error(`YAML document ${i}: ${d.errors[0].message.split('\n')[0]}`);
    return d.toJS() as unknown;
  }).filter((d) => d !== null);
}
