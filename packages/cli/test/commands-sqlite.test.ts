/** Every command on embedded and sqlite: see every-command.ts. */
import { describeEveryCommand } from './every-command.ts';

for (const name of ['embedded', 'sqlite'] as const) await describeEveryCommand(name);
