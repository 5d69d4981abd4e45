/**
 * `@stowage/attachments`: files that belong to database rows, on any stowage `Store`.
 *
 * - {@link Attachment}: the JSON reference a row stores (one column; a list for multi-file fields).
 * - {@link Attachments}: named stores and slots (policies: store, key prefix, key strategy, size
 *   and type limits enforced while streaming).
 * - {@link UnitOfWork}: the files of one database transaction; blob first, row second, deletions
 *   only once the outcome is known. {@link runInTransaction} binds it to any ORM.
 * - `attachments.collect(...)`: the garbage collector for orphans.
 *
 * Integrations: `@stowage/attachments/drizzle` (and its `sqlite-core`, `pg-core`, `mysql-core`
 * column types), `@stowage/attachments/http` (multipart and raw-body uploads).
 *
 * @module
 */
export { Attachments, type AttachmentsOptions, type CleanupFailure, type CleanupReport, type UploadOptions } from './attachments.ts';
export { DEFAULT_GRACE_PERIOD_MS, type CollectOptions, type CollectReport, type LiveReference } from './collector.ts';
export { SNIFF_BYTES, contentTypeMatches, sniffContentType } from './content-types.ts';
export { AttachmentError, ContentTypeNotAllowedError, InvalidReferenceError, isAttachmentError, type AttachmentErrorKind } from './errors.ts';
export {
  parseAttachment,
  parseAttachmentList,
  parseOptionalAttachment,
  sameAttachment,
  serializeAttachment,
  serializeAttachmentList,
  type Attachment,
  type JsonValue,
} from './reference.ts';
export { INCOMING_FOLDER, type EntityRef, type FileNameContext, type ResolvedSlot, type SlotPolicy } from './slots.ts';
export { UnitOfWork, runInTransaction, type UnitOfWorkState } from './unit-of-work.ts';
