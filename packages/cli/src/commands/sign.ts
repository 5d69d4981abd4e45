/**
 * `stowage sign`: prints a signed URL that grants time-limited access to one object.
 *
 * @module
 */
import { expectPositionals, stringOption, type Command } from '../command.ts';
import { atLocation, usageError } from '../failures.ts';
import { parseDuration } from '../format.ts';
import { displayLocation, isFolderKey } from '../locations.ts';
import { openStoreOf } from '../objects.ts';

/** `stowage sign`. */
export const signCommand: Command = {
  name: 'sign',
  summary: 'Print a signed URL that grants time-limited access to an object, without credentials.',
  usage: ['sign [options] LOCATION'],
  description: [
    'The store signs natively where its backend can (S3, Google Cloud Storage, Azure Blob Storage). A store whose backend cannot sign (memory, local, SQL) fails with CAPABILITY_NOT_SUPPORTED (exit status 6): such links are signed by stowage\'s HTTP handler, which serves them.',
    'The URL is printed as it is: it is the one line of output that is meant to carry a credential.',
  ],
  options: {
    expires: { type: 'string', value: 'DURATION', description: 'how long the URL is valid: seconds, or 15m, 12h, 7d (default 15m, at most 7d)' },
    method: { type: 'string', value: 'GET|PUT', description: 'GET to download (default), PUT to upload' },
    'content-type': { type: 'string', value: 'TYPE', description: 'for PUT: the content type the uploader must send' },
  },
  examples: [
    ['sign s3://bucket/reports/q3.pdf', 'a download link valid for 15 minutes'],
    ['sign --method PUT --expires 1h --content-type image/png lake:uploads/avatar.png', 'an upload link'],
  ],
  async run(context, args) {
    expectPositionals(this, args, 1, 1, 'one LOCATION');
    const text = args.positionals[0]!;
    const location = context.session.parse(text);
    if (location.kind !== 'store') throw usageError('sign needs an object in a store', text);
    if (isFolderKey(location.key)) throw usageError('sign needs the key of one object', text);
    const expires = stringOption(args, 'expires');
    const expiresIn = expires === undefined ? undefined : parseDuration(expires);
    if (expires !== undefined && expiresIn === undefined) throw usageError(`--expires takes seconds or a duration such as 15m, 12h or 7d, not ${JSON.stringify(expires)}`);
    const method = stringOption(args, 'method')?.toUpperCase();
    if (method !== undefined && method !== 'GET' && method !== 'PUT') throw usageError(`--method is GET or PUT, not ${JSON.stringify(method)}`);
    const store = await openStoreOf(context, location, { write: false });
    let url: string;
    try {
      url = await store.signUrl(location.key, { expiresIn, method, contentType: stringOption(args, 'content-type') });
    } catch (error) {
      throw atLocation(error, displayLocation(location));
    }
    context.io.stdout.write(`${url}\n`);
    return 0;
  },
};
