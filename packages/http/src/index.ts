/**
 * `@stowage/http`: serve a stowage store over HTTP with the Fetch API, and HMAC-signed links so that
 * every backend can hand out expiring URLs. For Node's `http`, Express and Fastify, see
 * `@stowage/http/node`.
 *
 * @module
 */
export { createHandler, type FetchHandler, type HandlerOptions } from './handler.ts';
export { parseRange } from './ranges.ts';
export { NonceRecord, type NonceRecordOptions } from './nonces.ts';
export { UPLOAD_DEFAULTS, type UploadOptions } from './upload-limits.ts';
export {
  HmacSigner,
  LINK_PARAMETERS,
  LINK_SUFFIXES,
  createSigner,
  type LinkProblem,
  type LinkRequest,
  type SignerOptions,
  type UploadLinkPolicy,
  type VerifiedLink,
} from './signer.ts';
export { keyToPath, pathToKey, rawPathProblem, type PathResult } from './url-keys.ts';
