/**
 * The README's benchmark table is what scripts/bench-table.ts makes from bench/results/latest.json: a figure edited
 * by hand, or a bench run whose README was not regenerated, fails here.
 */
import * as fs from 'fs';
import { BEGIN, END, LATEST, README, benchTable, readResults, withTable } from '../../scripts/bench-table';

test('README.md holds the table generated from bench/results/latest.json', () => {
  const readme = fs.readFileSync(README, 'utf8');
  expect(readme).toContain(BEGIN);
  expect(readme).toContain(END);
  // the diff jest prints on failure is the table itself; fix with: npx ts-node -T scripts/bench-table.ts
  const section = (text: string) => text.slice(text.indexOf(BEGIN), text.indexOf(END));
  expect(section(readme)).toBe(section(withTable(readme, readResults())));
});

test('every figure of latest.json has a row, with its ratio and whether its target was met', () => {
  const results = readResults(LATEST);
  const table = benchTable(results);
  for (const f of results.figures) {
    const row = table.split('\n').find((l) => l.startsWith(`| ${f.section} | ${f.name.replace(/\|/g, '\\|')} |`));
    expect(row).toBeDefined();
    if (f.ratio !== undefined) expect(row).toContain(`${f.ratio.toFixed(2)}×`);
    if (f.target) expect(row).toContain(f.met ? ': met' : ': missed');
  }
});

test('a README without the markers is an error that names them', () => {
  expect(() => withTable('# no table here\n', readResults())).toThrow(/bench-table/);
});
