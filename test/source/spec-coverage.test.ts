/**
 * A field added to the AgentTemplate spec (crds/ → imports/ → `Environment`) must reach every Agent that inherits it:
 * mergeTemplate has to merge it and ownEnvironment has to copy it. Both are checked when `tsc` compiles
 * (src/constructs/merge.ts: MergeCoversEnvironment and EveryKey); this file shows that those checks reject what they
 * should (`@ts-expect-error` fails the type-check when no error follows) and checks the same at run time against the CRD.
 */
import { Testing } from 'cdk8s';
import { AgentTemplate, Environment, mergeTemplate } from '../../src';
import { loadCrds } from '../../src/constructs/controller-install';
import type { EveryKey, NothingLeft } from '../../src/constructs/merge';

interface Sample { readonly a?: string; readonly b?: number }

test('EveryKey rejects an object literal that leaves a key out, even one whose value is optional', () => {
  // @ts-expect-error b is missing
  const missing: EveryKey<Sample> = { a: 'x' };
  const complete: EveryKey<Sample> = { a: undefined, b: undefined };
  expect([missing, complete]).toHaveLength(2);
});

test('NothingLeft rejects any key that is left over', () => {
  // @ts-expect-error 'b' is left over
  const left: NothingLeft<Exclude<keyof Sample, 'a'>> | undefined = undefined;
  const none: NothingLeft<Exclude<keyof Sample, 'a' | 'b'>> | undefined = undefined;
  expect([left, none]).toEqual([undefined, undefined]);
});

/** The spec fields of the AgentTemplate CRD: what `Environment` is generated from. */
function templateSpecFields(): string[] {
  const crd = loadCrds().find((c) => c.spec.names.kind === 'AgentTemplate');
  return Object.keys(crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties).sort();
}

/** A value for every field, so that a field the merge or the copy drops shows up as missing. */
function everyField(): Environment {
  return Object.fromEntries(templateSpecFields().map((k) => [k, `value-of-${k}`])) as unknown as Environment;
}

test('mergeTemplate carries every AgentTemplate spec field from the template', () => {
  expect(Object.keys(mergeTemplate(everyField(), {})).sort()).toEqual(templateSpecFields());
  expect(Object.entries(mergeTemplate(everyField(), {})).filter(([k, v]) => v !== `value-of-${k}`)).toEqual([]);
});

test('an AgentTemplate hands Agents every spec field it was given', () => {
  const env = new AgentTemplate(Testing.chart(), 't', {}).environment();
  expect(Object.keys(env).sort()).toEqual(templateSpecFields());
});
