/** Every command on S3, GCS and Azure: see every-command.ts. */
import { describeEveryCommand } from './every-command.ts';

for (const name of ['s3', 'gcs', 'azure'] as const) await describeEveryCommand(name);
