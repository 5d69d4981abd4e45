/**
 * `@stowage/core`: one contract for storing blobs on any backend.
 *
 * Users work with {@link Store} (open one with {@link openStore}); adapter authors implement
 * {@link Backend} and declare {@link Capabilities}.
 *
 * @module
 */
export { checkOptions, describeValue } from './arguments.ts';
export type {
  AdapterContext,
  AdapterDefinition,
  Backend,
  BackendCopyOptions,
  BackendListOptions,
  BackendReadResult,
  BackendSweepOptions,
  BackendWriteRequest,
  ByteRange,
  ListEntry,
  ListPage,
  ObjectInfo,
  OperationContext,
  SignUrlOptions,
  UrlSigner,
} from './backend.ts';
export { SLICE_BYTES, byobReader, meterBody, raceSignal, streamToBytes, toSource, type Body, type MeteredBody } from './bodies.ts';
export { ALL_CAPABILITIES, assertCapabilities, defineCapabilities, type Capabilities, type CapabilityName } from './capabilities.ts';
export { DEFAULT_CONTENT_TYPE, extensionOf, inferContentType } from './content-type.ts';
export {
  AbortedError,
  AlreadyExistsError,
  CapabilityNotSupportedError,
  ErrorCode,
  InvalidArgumentError,
  InvalidPathError,
  NotFoundError,
  PermissionDeniedError,
  PreconditionFailedError,
  RangeNotSatisfiableError,
  StorageFullError,
  StowageError,
  TooLargeError,
  UnavailableError,
  byteCount,
  createError,
  isStowageError,
  type StowageErrorOptions,
} from './errors.ts';
export { compileGlob, type CompiledGlob } from './glob.ts';
export { MAX_METADATA_BYTES, validateContentType, validateMetadata } from './metadata.ts';
export {
  MAX_KEY_BYTES,
  MAX_SEGMENT_BYTES,
  assertValidKey,
  assertValidPrefix,
  compareUtf16,
  compareUtf8,
  isValidKey,
  keyProblem,
  normalizeRoot,
} from './paths.ts';
export {
  FaultInjectingBackend,
  FaultPlan,
  faultLayer,
  type Fault,
  type FaultLayer,
  type FaultLayerOptions,
  type FaultOperation,
  type FaultRule,
  type FaultScript,
  type RecordedCall,
} from './layers/faults.ts';
export { LayeredBackend, OPERATION_NAMES, applyLayers, layerNames, type Layer, type LayerCall, type OperationName } from './layers/layer.ts';
export { concurrencyLimitLayer, rateLimitLayer, type ConcurrencyLimitOptions, type RateLimitOptions } from './layers/limits.ts';
export { loggingLayer, type LogFields, type LogLevel, type Logger, type LoggingOptions } from './layers/logging.ts';
export { observingLayer, type Observation, type ObservedCall, type ObservedOutcome, type Observer, type ObservingOptions } from './layers/observation.ts';
export { resumableReadsLayer, retryLayer, timeoutLayer } from './layers/reliability.ts';
export {
  openStore,
  openStores,
  registerAdapter,
  substituteEnv,
  type BackendConfig,
  type LayerConfig,
  type ModuleLoader,
  type OpenOptions,
  type StoreConfig,
  type StowageConfig,
} from './registry.ts';
export { resolveRange } from './ranges.ts';
export { MIN_SEARCHED_SECRET_LENGTH, findSecrets, isSecretName, maskSecrets, maskUrl } from './secrets.ts';
export { resumableStream, type ResumeOptions } from './resumable-reads.ts';
export {
  DEFAULT_RETRY_POLICY,
  isReplayableBody,
  isRetryable,
  resolveRetryPolicy,
  retryDelay,
  type ResolvedRetryPolicy,
  type RetryPolicy,
} from './retry.ts';
export {
  DEFAULT_SWEEP_AGE_MS,
  SWEEP_ITEM_LIMIT,
  SweepTally,
  type SweepItem,
  type SweepKind,
  type SweepKindDeclaration,
  type SweepKindSummary,
  type SweepOptions,
  type SweepReport,
  type SweepResult,
} from './sweep.ts';
export { attemptScope, checkTimeout, type AttemptScope } from './timeouts.ts';
export {
  closestName,
  readUrlParameters,
  type DriverParameters,
  type ReadUrlParameters,
  type ReadUrlParametersOptions,
  type UrlParameterSpec,
  type UrlParameterType,
  type UrlParameterValue,
  type UrlParameterValues,
} from './url-parameters.ts';
export {
  Store,
  type CapabilityRequired,
  type CopyOptions,
  type ListOptions,
  type OperationOptions,
  type ReadOptions,
  type StoreDescription,
  type StoreOptions,
  type StoredObject,
  type WithSignedUrl,
  type WriteOptions,
} from './store.ts';
