/**
 * Every case group, one by one and all together.
 *
 * @module
 */
import type { ConformanceCase, GroupName } from '../types.ts';
import { atomicityCases } from './atomicity.ts';
import { bodiesCases } from './bodies.ts';
import { conditionalCases } from './conditional.ts';
import { copyMoveCases } from './copy-move.ts';
import { deleteCases } from './delete.ts';
import { healthCases } from './health.ts';
import { hierarchyCases } from './hierarchy.ts';
import { keysCases } from './keys.ts';
import { listingCases } from './listing.ts';
import { metadataCases } from './metadata.ts';
import { otherWritersCases } from './other-writers.ts';
import { rangeCases } from './range.ts';
import { signedUrlCases } from './signed-url.ts';
import { sweepCases } from './sweep.ts';

export { atomicityCases, bodiesCases, conditionalCases, copyMoveCases, deleteCases, healthCases, hierarchyCases, keysCases, listingCases, metadataCases, otherWritersCases, rangeCases, signedUrlCases, sweepCases };

/** The cases of each group, by group name, in run order. */
export const caseGroups: Readonly<Record<GroupName, readonly ConformanceCase[]>> = Object.freeze({
  health: healthCases,
  keys: keysCases,
  bodies: bodiesCases,
  range: rangeCases,
  metadata: metadataCases,
  listing: listingCases,
  delete: deleteCases,
  'copy-move': copyMoveCases,
  conditional: conditionalCases,
  atomicity: atomicityCases,
  hierarchy: hierarchyCases,
  'signed-url': signedUrlCases,
  sweep: sweepCases,
  'other-writers': otherWritersCases,
});

/** Every case, group by group. */
export const allCases: readonly ConformanceCase[] = Object.freeze(Object.values(caseGroups).flat());
