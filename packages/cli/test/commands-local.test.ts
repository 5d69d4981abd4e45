/** Every command on local and configured: see every-command.ts. */
import { describeEveryCommand } from './every-command.ts';

for (const name of ['local', 'configured'] as const) await describeEveryCommand(name);
