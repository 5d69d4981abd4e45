/**
 * The entry of a child-process case: `node --conditions=@stowage/source child.ts '{"suite","name","params"}'`.
 * Imports the suite module, runs `childCases[name](params)` and prints one JSON line: the case's
 * metrics and the process's peak RSS, or `{ "error" }`.
 *
 * @module
 */
import { suiteModule } from './suites/index.ts';

const { suite, name, params } = JSON.parse(process.argv[2] ?? '{}') as { suite: string; name: string; params: Record<string, unknown> };
try {
  const module = await suiteModule(suite);
  const run = module.childCases?.[name];
  if (!run) throw new Error(`the suite ${suite} has no child case ${name}`);
  const metrics = await run(params);
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ metrics, peakRssMiB })}\n`);
  process.exit(0);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: (error as Error).message ?? String(error) })}\n`);
  process.exit(1);
}
