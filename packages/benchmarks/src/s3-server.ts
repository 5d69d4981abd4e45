/**
 * The S3 server the S3 benchmark suites run on: the server of `STOWAGE_TEST_S3_URL`, else a Ceph
 * RGW cluster started for the suite (Debian's packages must be installed).
 *
 * @module
 */
import { assertCephInstalled, s3ServerFromUrl, startCephRgw, type TestServer } from '@stowage/conformance/servers';

/** Why no S3 server can be had here, or undefined when one can. */
export async function s3Unavailable(): Promise<string | undefined> {
  if (process.env.STOWAGE_TEST_S3_URL) return undefined;
  try {
    await assertCephInstalled();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The server of `STOWAGE_TEST_S3_URL`, or a Ceph RGW cluster started now (stop it when done). */
export async function startS3Server(): Promise<TestServer> {
  const url = process.env.STOWAGE_TEST_S3_URL;
  return url ? s3ServerFromUrl(url, 'the server of STOWAGE_TEST_S3_URL') : startCephRgw();
}
