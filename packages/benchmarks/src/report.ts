/**
 * The report of a run: Markdown tables for people, JSON (the same tables plus every raw sample and
 * the machine) for tools.
 *
 * @module
 */
import type { MachineInfo } from './machine.ts';
import type { Measurement, Table } from './harness.ts';

/** One suite's part of the report. */
export interface SuiteReport {
  readonly name: string;
  readonly description: string;
  /** Why the suite did not run, when it did not. */
  readonly skipped?: string | undefined;
  /** Why it stopped early, when it failed. */
  readonly failed?: string | undefined;
  readonly notes: readonly string[];
  readonly tables: readonly Table[];
  readonly measurements: readonly Measurement[];
  readonly seconds: number;
}

/** The whole report. */
export interface RunReport {
  readonly machine: MachineInfo;
  readonly mode: 'full' | 'quick';
  readonly suites: readonly SuiteReport[];
}

function cell(value: string | number): string {
  return String(value).replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** Renders the report as Markdown. */
export function formatMarkdown(report: RunReport): string {
  const { machine } = report;
  const lines = [
    `# stowage benchmarks (${report.mode} run)`,
    '',
    `Measured ${machine.date.slice(0, 10)} on ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}.`,
    report.mode === 'quick' ? 'A quick run uses small sizes to check that every case runs: its figures are not the recorded ones.' : 'Figures are medians; the sides of each comparison ran alternately in the same run.',
    '',
  ];
  for (const suite of report.suites) {
    lines.push(`## ${suite.name}`, '', suite.description, '');
    if (suite.skipped) {
      lines.push(`Not run: ${suite.skipped}`, '');
      continue;
    }
    for (const note of suite.notes) lines.push(`- ${note}`);
    if (suite.notes.length > 0) lines.push('');
    for (const table of suite.tables) {
      lines.push(`### ${table.title}`, '');
      lines.push(`| ${table.columns.map(cell).join(' | ')} |`, `|${table.columns.map((_, index) => (index === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
      for (const row of table.rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
      lines.push('');
      for (const note of table.notes) lines.push(note, '');
    }
    if (suite.failed) lines.push(`**The suite stopped with an error:** ${suite.failed}`, '');
    lines.push(`(${Math.round(suite.seconds)} s)`, '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
