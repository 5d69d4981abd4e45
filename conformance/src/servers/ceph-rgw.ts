/**
 * Ceph's RADOS Gateway as a throwaway one-node cluster: one monitor, one OSD on memstore and one
 * radosgw, all bound to 127.0.0.1 on free ports, in a temporary directory that is removed when the
 * server stops (also when starting fails). It needs Debian's `ceph-mon ceph-osd radosgw ceph-common`
 * packages; it is ready in about a second and a half.
 *
 * A faithful S3 server: it checks signatures, lists in byte order with exact pagination, and keeps
 * `If-None-Match: *` atomic under concurrent writers.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, httpAnswers, spawnServer, tcpAnswers, type SpawnedServer, type TestServer } from './process.ts';
import { createBucket, DEFAULT_TEST_BUCKET, type S3ServerSettings } from './s3-endpoint.ts';

const run = promisify(execFile);

/** The executables the cluster needs, and the Debian package of each. */
const EXECUTABLES: readonly [command: string, debianPackage: string][] = [
  ['ceph-mon', 'ceph-mon'],
  ['ceph-osd', 'ceph-osd'],
  ['radosgw', 'radosgw'],
  ['radosgw-admin', 'radosgw'],
  ['ceph', 'ceph-common'],
  ['ceph-authtool', 'ceph-common'],
  ['monmaptool', 'ceph-common'],
];

/** Options of {@link startCephRgw}. */
export interface CephRgwOptions {
  /** The bucket to create (default `stowage-test`). */
  bucket?: string | undefined;
  /** The memstore size in bytes (default 4 GiB: memory is only used as objects are written). */
  storeBytes?: number | undefined;
  /** Where the cluster's temporary directory goes (default the OS temp directory). */
  baseDirectory?: string | undefined;
  /** How long to wait for each daemon (default 60 s). */
  timeoutMs?: number | undefined;
}

async function findExecutable(command: string): Promise<string | undefined> {
  for (const directory of (process.env.PATH ?? '').split(delimiter).concat(['/usr/bin', '/usr/sbin', '/usr/local/bin'])) {
    if (!directory) continue;
    const candidate = join(directory, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Throws an error naming the Debian packages to install when a Ceph executable is missing. */
export async function assertCephInstalled(): Promise<void> {
  const missing: string[] = [];
  for (const [command, debianPackage] of EXECUTABLES) {
    if ((await findExecutable(command)) === undefined && !missing.includes(debianPackage)) missing.push(debianPackage);
  }
  if (missing.length > 0) {
    throw new Error(`Ceph RGW needs the Debian packages ${missing.join(', ')} (apt-get install ceph-mon ceph-osd radosgw ceph-common)`);
  }
}

function configuration(directory: string, fsid: string, monHost: string, rgwPort: number, storeBytes: number): string {
  return `[global]
        fsid = ${fsid}
        mon host = ${monHost}
        public addr = 127.0.0.1
        cluster addr = 127.0.0.1
        auth cluster required = cephx
        auth service required = cephx
        auth client required = cephx
        keyring = ${directory}/$name.keyring
        log file = ${directory}/log/$name.log
        admin socket = ${directory}/run/$name.asok
        pid file = ${directory}/run/$name.pid
        run dir = ${directory}/run
        crash dir = ${directory}/crash
        log to stderr = false
        err to stderr = true
        osd pool default size = 1
        osd pool default min size = 1
        mon allow pool size one = true
        mon allow pool delete = true
        osd pool default pg num = 8
        osd pool default pgp num = 8
        osd pool default pg autoscale mode = off
        osd crush chooseleaf type = 0
        mon warn on pool no redundancy = false
        mon data avail warn = 2
        mon data avail crit = 1
        paxos propose interval = 0.01
        paxos min wait = 0.01
        auth allow insecure global id reclaim = false
[mon]
        mon data = ${directory}/mon.$id
        mon cluster log file = ${directory}/log/cluster.log
[osd]
        osd data = ${directory}/osd.$id
        osd objectstore = memstore
        memstore device bytes = ${storeBytes}
[client.rgw.gw]
        rgw frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
        rgw thread pool size = 16
        rgw data = ${directory}/rgw
        ; Overwritten and deleted objects' data is garbage-collected after two hours by default: on
        ; a memstore, repeated large overwrites (benchmarks) would fill it and stall every request.
        rgw gc obj min wait = 0
        rgw gc processor period = 2
        rgw gc processor max time = 2
`;
}

/**
 * Starts a one-node Ceph cluster with a radosgw on a free loopback port, creates an S3 user with
 * random keys and a bucket, and returns it as a {@link TestServer} whose `settings` are
 * {@link S3ServerSettings}. `stop()` stops the three daemons and removes the directory.
 */
export async function startCephRgw(options: CephRgwOptions = {}): Promise<TestServer> {
  await assertCephInstalled();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const directory = await mkdtemp(join(options.baseDirectory ?? tmpdir(), 'stowage-rgw-'));
  const daemons: SpawnedServer[] = [];
  const accessKeyId = `STOWAGE${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(24).toString('base64url');
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // radosgw first, then the OSD, then the monitor: each needs the next one to shut down cleanly.
    for (const daemon of daemons.reverse()) await daemon.stop(3000).catch(() => undefined);
    await rm(directory, { recursive: true, force: true });
  };
  try {
    for (const folder of ['log', 'run', 'mon.a', 'osd.0', 'rgw', 'crash']) await mkdir(join(directory, folder), { recursive: true });
    const [monV2, monV1, rgwPort] = [await freePort(), await freePort(), await freePort()];
    const fsid = randomUUID();
    const monHost = `[v2:127.0.0.1:${monV2},v1:127.0.0.1:${monV1}]`;
    const conf = join(directory, 'ceph.conf');
    await writeFile(conf, configuration(directory, fsid, monHost, rgwPort, options.storeBytes ?? 4 * 1024 ** 3));
    const env = { CEPH_CONF: conf };
    const tool = (command: string, args: string[]): Promise<{ stdout: string }> => run(command, args, { env: { ...process.env, ...env }, timeout: timeoutMs });

    // Keyrings: mon. and client.admin in one keyring, which mon --mkfs imports.
    const monKeyring = join(directory, 'mon.a.keyring');
    const adminKeyring = join(directory, 'client.admin.keyring');
    await tool('ceph-authtool', ['--create-keyring', '--gen-key', '--name=mon.', '--cap', 'mon', 'allow *', monKeyring]);
    await tool('ceph-authtool', ['--create-keyring', '--gen-key', '--name=client.admin', '--cap', 'mon', 'allow *', '--cap', 'osd', 'allow *', '--cap', 'mds', 'allow *', '--cap', 'mgr', 'allow *', adminKeyring]);
    await tool('ceph-authtool', [monKeyring, '--import-keyring', adminKeyring]);
    const monmap = join(directory, 'monmap');
    await tool('monmaptool', ['--create', '--clobber', '--fsid', fsid, '--addv', 'a', monHost, monmap]);
    await tool('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', monmap, '--keyring', monKeyring]);
    daemons.push(await spawnServer({ name: 'ceph-mon', command: 'ceph-mon', args: ['-c', conf, '-f', '-i', 'a'], env, ready: () => tcpAnswers('127.0.0.1', monV2), timeoutMs }));

    const ceph = (args: string[]): Promise<{ stdout: string }> => tool('ceph', ['-c', conf, '--connect-timeout', String(Math.ceil(timeoutMs / 1000)), ...args]);
    const osdUuid = randomUUID();
    const { stdout: osdKeyOut } = await tool('ceph-authtool', ['--gen-print-key']);
    const osdKey = osdKeyOut.trim();
    const osdRequest = join(directory, 'osd-new.json');
    await writeFile(osdRequest, JSON.stringify({ cephx_secret: osdKey }));
    const osdId = (await ceph(['osd', 'new', osdUuid, '-i', osdRequest])).stdout.trim();
    await writeFile(join(directory, `osd.${osdId}.keyring`), `[osd.${osdId}]\n\tkey = ${osdKey}\n`);
    await tool('ceph-osd', ['-c', conf, '-i', osdId, '--mkfs', '--key', osdKey, '--osd-uuid', osdUuid]);
    // The OSD has no port of its own to probe; radosgw below waits for it.
    daemons.push(await spawnServer({ name: 'ceph-osd', command: 'ceph-osd', args: ['-c', conf, '-f', '-i', osdId], env, ready: async () => true, timeoutMs }));

    await ceph(['auth', 'get-or-create', 'client.rgw.gw', 'mon', 'allow rw', 'osd', 'allow rwx', 'mgr', 'allow rw', '-o', join(directory, 'client.rgw.gw.keyring')]);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    daemons.push(await spawnServer({ name: 'radosgw', command: 'radosgw', args: ['-c', conf, '-f', '-n', 'client.rgw.gw'], env, ready: () => httpAnswers(`${endpoint}/`), timeoutMs }));

    const settings: S3ServerSettings = {
      endpoint,
      accessKeyId,
      secretAccessKey,
      region: 'us-east-1',
      bucket: options.bucket ?? DEFAULT_TEST_BUCKET,
      forcePathStyle: 'true',
    };
    await tool('radosgw-admin', ['-c', conf, 'user', 'create', '--uid=stowage', '--display-name=stowage', `--access-key=${settings.accessKeyId}`, `--secret-key=${settings.secretAccessKey}`]);
    await createBucket(settings);
    return { name: 'ceph-rgw', endpoint, settings: { ...settings }, startedHere: true, stop };
  } catch (error) {
    await stop();
    // A failed radosgw-admin call quotes its command line, keys included.
    const message = (error as Error).message.replaceAll(secretAccessKey, '***').replaceAll(accessKeyId, '***');
    throw new Error(`starting Ceph RGW failed: ${message}`);
  }
}
