/**
 * `@stowage/attachments/drizzle/mysql-core`: attachment columns for Drizzle's MySQL and MariaDB
 * tables, stored as `json` and checked when read (a malformed value fails with
 * `InvalidReferenceError`).
 *
 * @example
 * ```ts
 * import { mysqlTable, varchar } from 'drizzle-orm/mysql-core'
 * import { attachment, attachmentList } from '@stowage/attachments/drizzle/mysql-core'
 *
 * export const users = mysqlTable('users', {
 *   id: varchar('id', { length: 36 }).primaryKey(),
 *   avatar: attachment('avatar'),
 *   documents: attachmentList('documents').notNull(),
 * })
 * ```
 *
 * @module
 */
import { customType } from 'drizzle-orm/mysql-core';
import type { Attachment } from '../reference.ts';
import { listCodec, referenceCodec } from './codecs.ts';

// mysql2 parses MySQL's JSON type; MariaDB's JSON is text and arrives as a string: both work.

/** A column holding one attachment reference (nullable unless `.notNull()`), as `json`. */
export const attachment = customType<{ data: Attachment; driverData: unknown }>({ dataType: () => 'json', ...referenceCodec });

/** A column holding a list of attachment references (a multi-file field), as `json`. */
export const attachmentList = customType<{ data: Attachment[]; driverData: unknown }>({ dataType: () => 'json', ...listCodec });
