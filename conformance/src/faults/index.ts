/**
 * `@stowage/conformance/faults`: tools to see what an adapter and a store do when things go wrong.
 *
 * - {@link startFaultProxy}: a TCP proxy on 127.0.0.1 between an adapter and its server that
 *   delays, stalls, resets or closes connections, cuts them after N bytes in either direction, and
 *   refuses new ones.
 * - {@link FaultyBackend}: a backend wrapper that injects `UNAVAILABLE` (before or after the real
 *   call), slowness, or read streams that break midway, at chosen operations.
 *
 * @example
 * ```ts
 * import { startFaultProxy } from '@stowage/conformance/faults'
 *
 * const proxy = await startFaultProxy({ target: '127.0.0.1:5432' })
 * const store = await openStore(proxy.url('postgres://postgres@127.0.0.1:5432/test'))
 * proxy.setFaults({ upload: { cutAfterBytes: 100_000 } }) // the next 100 kB out, then a reset
 * ```
 *
 * @module
 */
export { startFaultProxy, type CutMode, type DirectionFaults, type FaultProxy, type FaultProxyOptions, type ProxyFaults, type ProxyStats } from './proxy.ts';
export { FaultyBackend, type Fault, type FaultOperation, type FaultRule, type FaultyBackendOptions, type RecordedCall } from './backend.ts';
