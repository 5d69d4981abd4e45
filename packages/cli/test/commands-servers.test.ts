/** Every command on postgres and mysql: see every-command.ts. */
import { describeEveryCommand } from './every-command.ts';

for (const name of ['postgres', 'mysql'] as const) await describeEveryCommand(name);
