/** Every command on S3 and GCS: see every-command.ts. */
import { describeEveryCommand } from './every-command.ts';

for (const name of ['s3', 'gcs'] as const) await describeEveryCommand(name);
