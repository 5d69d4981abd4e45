/**
 * The Markdown rendering of a conformance report, for humans: summary, capabilities declared vs
 * observed, failures with their messages, overridden cases with their reasons, and every case.
 *
 * @module
 */
import { formatSummary, type CaseResult, type CaseStatus, type ConformanceReport } from './runner.ts';

const STATUS_TEXT: Record<CaseStatus, string> = {
  passed: 'pass',
  failed: '**FAIL**',
  skipped: 'skipped',
  'not-applicable': 'n/a',
};

/** Escapes text for a Markdown table cell. */
function cell(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function code(text: string): string {
  return `\`${text.replaceAll('`', "'")}\``;
}

function value(declared: unknown): string {
  if (declared === undefined || (Array.isArray(declared) && declared.length === 0)) return 'none';
  if (Array.isArray(declared)) return JSON.stringify(declared);
  return declared === null ? 'null' : typeof declared === 'string' ? `'${declared}'` : String(declared);
}

/**
 * Renders a report as Markdown.
 *
 * @example
 * ```ts
 * await writeFile('conformance-report.md', formatReportMarkdown(await runConformance({ factory })))
 * ```
 */
export function formatReportMarkdown(report: ConformanceReport): string {
  const lines: string[] = [];
  const seconds = (report.durationMs / 1000).toFixed(1);
  lines.push(`# stowage conformance: ${report.name}`, '');
  lines.push(
    `Backend ${code(report.backend)} · ${report.suite.name} ${report.suite.version} · Node ${report.environment.node} on ${report.environment.platform}/${report.environment.arch} · ${report.startedAt}`,
    '',
  );
  lines.push(`**${report.summary.failed === 0 ? 'PASSED' : 'FAILED'}: ${formatSummary(report.summary)}** in ${seconds} s.`, '');
  lines.push(
    `Options: chunk size ${report.options.chunkSize} bytes, large body ${report.options.largeSize} bytes${report.rooted ? '; every case also ran on a rooted store' : '; the rooted run was turned off'}.`,
    '',
  );

  lines.push('## Capabilities', '', '| Capability | Declared | Observed | Verdict | How |', '| --- | --- | --- | --- | --- |');
  for (const verdict of report.capabilities) {
    lines.push(`| ${verdict.name} | ${value(verdict.declared)} | ${verdict.observed === null ? '–' : value(verdict.observed)} | ${verdict.verdict} | ${cell(verdict.note)} |`);
  }
  lines.push('');

  const failures = report.cases.filter((result) => result.status === 'failed');
  if (failures.length > 0) {
    lines.push('## Failures', '');
    for (const failure of failures) {
      lines.push(`### ${code(failure.id)} (${failure.variant})`, '', failure.name, '', '```', failure.error?.message ?? 'unknown error', '```', '');
    }
  }

  const overridden = report.cases.filter((result) => result.status === 'skipped' && result.variant === 'bare');
  if (Object.keys(report.overrides).length > 0) {
    lines.push('## Not verifiable on this server', '', 'Named overrides for known gaps of the server under test:', '');
    for (const [key, reason] of Object.entries(report.overrides)) lines.push(`- ${code(key)}: ${reason}`);
    lines.push('', `${overridden.length} case(s) affected${report.rooted ? ' (on each variant)' : ''}.`, '');
  }

  lines.push('## Cases', '');
  const variants = report.rooted ? (['bare', 'rooted'] as const) : (['bare'] as const);
  // One row per case, with a column per variant; one table per group, in run order.
  const groups = new Map<string, Map<string, Partial<Record<'bare' | 'rooted', CaseResult>>>>();
  for (const result of report.cases) {
    const rows = groups.get(result.group) ?? new Map<string, Partial<Record<'bare' | 'rooted', CaseResult>>>();
    rows.set(result.id, { ...rows.get(result.id), [result.variant]: result });
    groups.set(result.group, rows);
  }
  for (const [group, rows] of groups) {
    lines.push(`### ${group}`, '', `| Case | What it proves | ${variants.join(' | ')} |`, `| --- | --- | ${variants.map(() => '---').join(' | ')} |`);
    for (const [id, results] of rows) {
      const statuses = variants.map((variant) => {
        const result = results[variant];
        if (!result) return '–';
        const time = result.status === 'passed' || result.status === 'failed' ? ` (${result.durationMs} ms)` : '';
        return `${STATUS_TEXT[result.status]}${time}`;
      });
      lines.push(`| ${code(id)} | ${cell((results.bare ?? results.rooted)!.name)} | ${statuses.join(' | ')} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
