/**
 * How the attachment columns of every dialect convert values: JSON text to the driver, and a
 * checked reference from whatever the driver returns (parsed JSON or its text).
 *
 * @module
 */
import { parseAttachment, parseAttachmentList, serializeAttachment, serializeAttachmentList, type Attachment } from '../reference.ts';

/** The conversions of a single-reference column. */
export const referenceCodec: { toDriver(value: Attachment): string; fromDriver(value: unknown): Attachment } = {
  toDriver: (value) => serializeAttachment(value),
  fromDriver: (value) => parseAttachment(value),
};

/** The conversions of a list column. */
export const listCodec: { toDriver(value: Attachment[]): string; fromDriver(value: unknown): Attachment[] } = {
  toDriver: (value) => serializeAttachmentList(value),
  fromDriver: (value) => parseAttachmentList(value),
};
