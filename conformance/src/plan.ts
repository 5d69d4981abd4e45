/**
 * Which cases run where: capability applicability and named overrides. Shared by the runner and
 * the vitest binding, so that both skip exactly the same cases for exactly the same reasons.
 *
 * @module
 */
import type { Capabilities } from '@stowage/core';
import { allCases } from './cases/index.ts';
import { isDeclared } from './cases/define.ts';
import { GROUP_NAMES, type ConformanceCase, type OtherWriter, type Overrides } from './types.ts';

/** Whether the override key `key` covers `testCase`: its id, its group, or an id prefix ending before a `/`. */
export function overrideCovers(key: string, testCase: ConformanceCase): boolean {
  return key === testCase.id || key === testCase.group || testCase.id.startsWith(`${key}/`);
}

/**
 * Checks overrides: every key must cover at least one case of the whole suite (so that a typo
 * cannot hide a gap) and every reason must be a non-empty string. Throws a `TypeError` naming the
 * bad entries.
 */
export function validateOverrides(overrides: Overrides | undefined): void {
  if (overrides === undefined) return;
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new TypeError('overrides must be an object of { caseIdOrGroup: reason }');
  }
  const problems: string[] = [];
  for (const [key, reason] of Object.entries(overrides)) {
    if (typeof reason !== 'string' || reason.trim() === '') problems.push(`${JSON.stringify(key)} needs a reason (a non-empty string)`);
    const known = (GROUP_NAMES as readonly string[]).includes(key) || allCases.some((testCase) => overrideCovers(key, testCase));
    if (!known) problems.push(`${JSON.stringify(key)} matches no case id or group`);
  }
  if (problems.length > 0) throw new TypeError(`invalid conformance overrides: ${problems.join('; ')}`);
}

/** The reason a case is overridden (the most specific matching key wins), or undefined. */
export function overrideReason(testCase: ConformanceCase, overrides: Overrides | undefined): string | undefined {
  if (!overrides) return undefined;
  let best: string | undefined;
  for (const key of Object.keys(overrides)) {
    if (overrideCovers(key, testCase) && (best === undefined || key.length > best.length)) best = key;
  }
  return best === undefined ? undefined : overrides[best];
}

/**
 * Why a case does not apply to a backend with these capabilities (and a fixture with or without an
 * other writer), or undefined when it does.
 */
export function notApplicableReason(testCase: ConformanceCase, capabilities: Capabilities, fixture: { otherWriter?: OtherWriter | undefined } = {}): string | undefined {
  const { capability, requires, needs } = testCase;
  if (needs !== undefined) {
    if (!fixture.otherWriter) return 'the fixture supplies no other writer (otherWriter) to write beside stowage';
    if (needs === 'other-writer-metadata' && !fixture.otherWriter.metadata) return `the other writer (${fixture.otherWriter.name}) writes no user metadata`;
    if (needs === 'other-writer-metadata' && !capabilities.userMetadata) return 'the backend does not declare userMetadata';
  }
  if (capability === undefined || requires === undefined) return undefined;
  const declared = isDeclared(capabilities, capability);
  if (requires === 'declared' && !declared) return `the backend does not declare ${capability}`;
  if (requires === 'undeclared' && declared) return `the backend declares ${capability} (${JSON.stringify(capabilities[capability])}); this case checks the refusal where it is not declared`;
  return undefined;
}

/** The text reported for an overridden case. */
export function overrideMessage(reason: string): string {
  return `not verifiable on this server: ${reason}`;
}
