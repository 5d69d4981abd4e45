/**
 * `@stowage/attachments/drizzle/sqlite-core`: attachment columns for Drizzle's SQLite tables, stored
 * as JSON text and checked when read (a malformed value fails with `InvalidReferenceError`).
 *
 * @example
 * ```ts
 * import { sqliteTable, text } from 'drizzle-orm/sqlite-core'
 * import { attachment, attachmentList } from '@stowage/attachments/drizzle/sqlite-core'
 *
 * export const users = sqliteTable('users', {
 *   id: text('id').primaryKey(),
 *   avatar: attachment('avatar'),
 *   documents: attachmentList('documents').notNull().default([]),
 * })
 * ```
 *
 * @module
 */
import { customType } from 'drizzle-orm/sqlite-core';
import type { Attachment } from '../reference.ts';
import { listCodec, referenceCodec } from './codecs.ts';

/** A column holding one attachment reference (nullable unless `.notNull()`), as `TEXT`. */
export const attachment = customType<{ data: Attachment; driverData: string }>({ dataType: () => 'text', ...referenceCodec });

/** A column holding a list of attachment references (a multi-file field), as `TEXT`. */
export const attachmentList = customType<{ data: Attachment[]; driverData: string }>({ dataType: () => 'text', ...listCodec });
