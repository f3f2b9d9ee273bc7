/**
 * Turns an API request into the (apiGroup, resource, verb) RBAC checks it against, and decides whether a set of rules
 * allows it — the way the API server's RBAC authorizer would (no wildcards here: our rules have none).
 */
export interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}

export interface Access {
  group: string;
  resource: string;
  verb: string;
  name?: string;
  namespace?: string;
}

export function accessOf(method: string, rawPath: string): Access {
  const [path, query = ''] = rawPath.split('?');
  const parts = path.split('/').filter(Boolean);
  let i: number;
  let group: string;
  if (parts[0] === 'api') {
    group = '';
    i = 2;
  } else {
    group = parts[1];
    i = 3;
  }
  let namespace: string | undefined;
  if (parts[i] === 'namespaces' && parts.length > i + 2) {
    namespace = parts[i + 1];
    i += 2;
  }
  const resource = parts[i];
  const name = parts[i + 1];
  const sub = parts[i + 2];
  const watch = /(^|&)watch=(true|1)/.test(query);
  const verb = method === 'GET' ? (watch ? 'watch' : name ? 'get' : 'list')
    : method === 'POST' ? 'create' : method === 'PATCH' ? 'patch' : method === 'PUT' ? 'update' : method === 'DELETE' ? 'delete' : method.toLowerCase();
  return { group, resource: sub ? `${resource}/${sub}` : resource, verb, name, namespace };
}

export function allowed(rules: Rule[], a: Access): boolean {
  return rules.some((r) => (r.apiGroups ?? []).includes(a.group)
    && (r.resources ?? []).includes(a.resource)
    && r.verbs.includes(a.verb)
    && (!r.resourceNames?.length || (a.name !== undefined && r.resourceNames.includes(a.name))));
}
