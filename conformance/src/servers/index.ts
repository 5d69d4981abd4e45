/**
 * `@stowage/conformance/servers`: the harness that finds or starts the servers an adapter's tests run
 * against. For each backend: `STOWAGE_TEST_<BACKEND>_URL` when set (a container, a cloud account),
 * else a local process on a free loopback port, stopped when the run ends. In CI
 * (`STOWAGE_TEST_REQUIRE_SERVERS=1`) a server that cannot be found or started fails the run.
 *
 * @module
 */
export {
  freePort,
  httpAnswers,
  resolveTestServer,
  serverRequired,
  serverUrlVariable,
  spawnServer,
  tcpAnswers,
  type ResolveServerOptions,
  type ResolvedServer,
  type SpawnServerOptions,
  type SpawnedServer,
  type TestServer,
} from './process.ts';
export { AZURITE_ACCOUNT, AZURITE_ACCOUNT_KEY, azuriteBlobMain, azuriteFromUrl, resolveAzurite, startAzurite, type AzuriteOptions } from './azurite.ts';
