/**
 * npm run bench: measures, prints a table with each figure's baseline and target, and writes bench/results/latest.json.
 * Exits non-zero only when the harness itself fails, never for a missed target.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { type Figure, updateReadme } from '../scripts/bench-table';

export type { Figure };

const figures: Figure[] = [];
const root = path.resolve(__dirname, '..');
const tsNode = path.join(root, 'node_modules', '.bin', 'ts-node');

function worker(script: string, args: string[]): any {
  const out = execFileSync(tsNode, ['--transpile-only', script, ...args], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()!);
}

/** Least-squares slope of log(y) on log(x): 1 means linear growth. */
export function growthExponent(points: Array<[number, number]>): number {
  const xs = points.map(([x]) => Math.log(x));
  const ys = points.map(([, y]) => Math.log(y));
  const mx = xs.reduce((a, b) => a + b) / xs.length;
  const my = ys.reduce((a, b) => a + b) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i] - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

function benchSynth(sizes: number[]): void {
  const lib: Array<[number, number]> = [];
  for (const n of sizes) {
    const floor = worker('bench/synth-worker.ts', ['floor', String(n)]);
    const ours = worker('bench/synth-worker.ts', ['lib', String(n)]);
    lib.push([n, ours.ms]);
    const ratio = ours.ms / floor.ms;
    figures.push({ section: 'synth', name: `${n} Agents: wall time`, value: ours.ms, unit: 'ms', baseline: { name: 'raw ApiObjects', value: floor.ms }, ratio, target: '≤ 1.3× floor', met: ratio <= 1.3 });
    const memOurs = ours.peakRssMb - ours.baseRssMb;
    const memFloor = floor.peakRssMb - floor.baseRssMb;
    figures.push({ section: 'synth', name: `${n} Agents: peak memory growth`, value: memOurs, unit: 'MB', baseline: { name: 'raw ApiObjects', value: memFloor }, ratio: memOurs / memFloor, target: '≤ 1.3× floor', met: memOurs / memFloor <= 1.3 });
    // beside the time: how much YAML each Agent costs (the scripts ConfigMap, once per chart and namespace, included)
    figures.push({ section: 'synth', name: `${n} Agents: YAML bytes per Agent`, value: Math.round(ours.bytes / n), unit: 'B', baseline: { name: 'raw ApiObjects', value: Math.round(floor.bytes / n) } });
    process.stderr.write(`synth ${n}: ${ours.ms.toFixed(0)} ms vs floor ${floor.ms.toFixed(0)} ms (${ours.objects} objects, ${(ours.bytes / n / 1024).toFixed(1)} KB of YAML per Agent)\n`);
  }
  const k = growthExponent(lib);
  figures.push({ section: 'synth', name: 'growth exponent (time ~ N^k)', value: k, unit: 'k', target: 'linear (k ≈ 1)', met: k < 1.15 });
}

function table(): string {
  const rows = figures.map((f) => [
    f.section,
    f.name,
    `${fmt(f.value)} ${f.unit}`,
    f.baseline ? `${fmt(f.baseline.value)} ${f.unit} (${f.baseline.name})` : '—',
    f.ratio !== undefined ? `${f.ratio.toFixed(2)}×` : '—',
    f.target ?? '—',
    f.met === undefined ? '' : f.met ? 'met' : 'MISSED',
  ]);
  const head = ['section', 'figure', 'value', 'baseline', 'ratio', 'target', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  benchSynth(quick ? [10, 100] : [10, 100, 1000, 10000]);
  for (const extra of ['bench/decisions.ts', 'bench/controller.ts']) {
    if (fs.existsSync(path.join(root, extra))) {
      const mod = await import(path.join(root, extra));
      figures.push(...(await mod.run({ quick })));
    }
  }
  const text = table();
  console.log(text);
  const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.type()} ${os.release()}` };
  fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench', 'results', 'latest.json'), JSON.stringify({ date: new Date().toISOString(), machine, figures }, null, 2) + '\n');
  console.log(`\nwrote bench/results/latest.json (${machine.cpus} cores, ${machine.cpuModel}, Node ${machine.node})`);
  if (updateReadme()) console.log('regenerated the benchmark table in README.md (scripts/bench-table.ts)');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
