/**
 * `@stowage/attachments/drizzle/pg-core`: attachment columns for Drizzle's PostgreSQL tables, stored
 * as `jsonb` and checked when read (a malformed value fails with `InvalidReferenceError`).
 *
 * @example
 * ```ts
 * import { pgTable, uuid } from 'drizzle-orm/pg-core'
 * import { attachment, attachmentList } from '@stowage/attachments/drizzle/pg-core'
 *
 * export const users = pgTable('users', {
 *   id: uuid('id').primaryKey(),
 *   avatar: attachment('avatar'),
 *   documents: attachmentList('documents').notNull().default([]),
 * })
 * ```
 *
 * @module
 */
import { customType } from 'drizzle-orm/pg-core';
import type { Attachment } from '../reference.ts';
import { listCodec, referenceCodec } from './codecs.ts';

// node-postgres parses jsonb itself; with its type parser turned off the text arrives, which works too.

/** A column holding one attachment reference (nullable unless `.notNull()`), as `jsonb`. */
export const attachment = customType<{ data: Attachment; driverData: unknown }>({ dataType: () => 'jsonb', ...referenceCodec });

/** A column holding a list of attachment references (a multi-file field), as `jsonb`. */
export const attachmentList = customType<{ data: Attachment[]; driverData: unknown }>({ dataType: () => 'jsonb', ...listCodec });
