/** Runs one bench section alone and prints its figures: ts-node -T bench/lib/run-one.ts <decisions|controller> [--quick] */
import * as path from 'path';

async function main(): Promise<void> {
  const [which] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const mod = await import(path.join(__dirname, '..', `${which}.ts`));
  const figures = await mod.run({ quick: process.argv.includes('--quick') });
  for (const f of figures) console.log(JSON.stringify(f));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
