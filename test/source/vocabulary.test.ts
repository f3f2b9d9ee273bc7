/**
 * One vocabulary: every condition reason the system can give is spelled once, in src/api/vocabulary.ts. A reason
 * written as a literal anywhere else in src/ is a second definition that can drift from the table.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CONDITIONS, REASONS } from '../../src/api';

const SRC = path.join(__dirname, '..', '..', 'src');
const TABLE = path.join(SRC, 'api', 'vocabulary.ts');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
}

test('the reason table defines each string once', () => {
  const values = Object.values(REASONS);
  expect(new Set(values).size).toBe(values.length);
});

/** The same words meaning something else, each with why. */
const NOT_REASONS = new Set([
  // kubeoc's STATUS column: the words `kubectl get agent` prints (the CRD's printer column), not condition reasons
  "cli/verbs.ts: 'Suspended'",
  "cli/verbs.ts: 'Ready'",
  "cli/verbs.ts: 'NotReady'",
  // Kubernetes' own PodScheduled reason, read from the pod (ours has the same name on purpose)
  "controller/decide/task-pod.ts: 'Unschedulable'",
]);

test('no file in src/ but the table spells a reason as a string literal', () => {
  const words = new Set<string>(Object.values(REASONS));
  const found: string[] = [];
  for (const file of sources(SRC)) {
    if (file === TABLE) continue;
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/'([A-Z][A-Za-z]+)'/g)) {
      const where = `${path.relative(SRC, file)}: '${m[1]}'`;
      if (words.has(m[1]) && !NOT_REASONS.has(where)) found.push(where);
    }
  }
  expect(found).toEqual([]);
});

test('condition types are spelled only in the table (Task phases share some of the words)', () => {
  const phases = new Set(['Pending', 'Queued', 'Running', 'Completed', 'Failed']);
  const words = new Set<string>(Object.values(CONDITIONS).filter((c) => !phases.has(c) && !(Object.values(REASONS) as string[]).includes(c)));
  const found: string[] = [];
  for (const file of sources(SRC)) {
    if (file === TABLE) continue;
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/'([A-Z][A-Za-z]+)'/g)) {
      if (words.has(m[1])) found.push(`${path.relative(SRC, file)}: '${m[1]}'`);
    }
  }
  expect(found).toEqual([]);
});
