import { type BurstSample, workersCpu } from './burst.js';
import type { HistorySizes } from './histories.js';
import type { WorkflowCeiling } from './limits/ceilings.js';
import { fmt, median } from './stats.js';

// The bench's one table: each figure as min / median over the pairs, the ceiling's beside the
// project's, the ratio of each pair's adjacent samples, and the target.

/** A burst and the local-activity ceiling measured just before it. */
export interface Pair {
  ceiling: WorkflowCeiling;
  project: BurstSample;
}

export interface Results {
  plain: Pair[];
  webhook: Pair[];
  histories: { ceiling: HistorySizes; project: HistorySizes };
  /** The services as production runs them (dist) or as `npm start` does (source). */
  from: 'dist' | 'source';
}

interface Target {
  of: 'ratio' | 'project';
  op: '≥' | '≤';
  value: number;
  note?: string;
}
interface Row {
  label: string;
  digits: number;
  ceiling?: number[];
  project: number[];
  ratios?: number[];
  target?: Target;
}

const minMedian = (xs: number[] | undefined, digits: number) =>
  xs?.length ? `${fmt(Math.min(...xs), digits)} / ${fmt(median(xs), digits)}` : '—';
const ratiosOf = (ceiling: number[], project: number[]) => project.map((p, i) => p / ceiling[i]!);

function rows({ plain, webhook, histories, from }: Results): Row[] {
  const c = (pairs: Pair[], f: (w: WorkflowCeiling) => number) => pairs.map((p) => f(p.ceiling));
  const p = (pairs: Pair[], f: (b: BurstSample) => number) => pairs.map((x) => f(x.project));
  const compared = (
    label: string,
    digits: number,
    pairs: Pair[],
    fc: (w: WorkflowCeiling) => number,
    fp: (b: BurstSample) => number,
    target?: Target,
  ): Row => {
    const ceiling = c(pairs, fc);
    const project = p(pairs, fp);
    // A ceiling near zero (PostgreSQL under the dev server, which keeps its data in SQLite) has no useful ratio.
    const ratios = ceiling.every((x) => x > 0.05) ? ratiosOf(ceiling, project) : undefined;
    return { label, digits, ceiling, project, ...(ratios && { ratios }), ...(target && { target }) };
  };
  const cpu = (name: string) => (b: BurstSample) => (name === 'worker' ? workersCpu(b.cpuMsPerEvent) : (b.cpuMsPerEvent[name] ?? NaN));
  const built = from === 'dist';
  return [
    compared(
      'end to end, no processors (events/s)',
      0,
      plain,
      (w) => w.perSecond,
      (b) => b.e2ePerSecond,
      built ? { of: 'ratio', op: '≥', value: 0.9 } : { of: 'ratio', op: '≥', value: 0.8, note: 'through npm start' },
    ),
    compared(
      'end to end, one webhook subscriber (events/s)',
      0,
      webhook,
      (w) => w.perSecond,
      (b) => b.e2ePerSecond,
      built ? { of: 'ratio', op: '≥', value: 0.85 } : undefined,
    ),
    compared('worker CPU per event, no processors (ms)', 2, plain, (w) => w.workerCpuMs, cpu('worker'), {
      of: 'ratio',
      op: '≤',
      value: 1.15,
    }),
    compared('Temporal CPU per event, no processors (ms)', 2, plain, (w) => w.temporalCpuMs, cpu('temporal'), {
      of: 'ratio',
      op: '≤',
      value: 1.15,
    }),
    compared('PostgreSQL CPU per event, no processors (ms)', 2, plain, (w) => w.postgresCpuMs, cpu('postgres')),
    { label: 'API CPU per event, no processors (ms)', digits: 2, project: p(plain, cpu('api')) },
    { label: 'NATS CPU per event, no processors (ms)', digits: 2, project: p(plain, cpu('nats')) },
    compared('worker CPU per event, one webhook subscriber (ms)', 2, webhook, (w) => w.workerCpuMs, cpu('worker')),
    {
      label: 'history events per completed event',
      digits: 0,
      ceiling: histories.ceiling.events,
      project: histories.project.events,
      target: { of: 'project', op: '≤', value: 8 },
    },
    { label: 'history bytes per completed event', digits: 0, ceiling: histories.ceiling.bytes, project: histories.project.bytes },
    { label: 'ingestion of the burst, no processors (events/s)', digits: 0, project: p(plain, (b) => b.ingestPerSecond) },
    { label: 'ack p99 during the burst (ms)', digits: 1, project: p(plain, (b) => b.ackP99Ms) },
    { label: 'latency received→completed p50 (ms)', digits: 0, project: p(plain, (b) => b.latency.p50) },
    { label: 'latency received→completed p99 (ms)', digits: 0, project: p(plain, (b) => b.latency.p99) },
  ];
}

function targetCells(row: Row): [string, string] {
  const t = row.target;
  if (!t) return ['', ''];
  const value = t.of === 'ratio' ? median(row.ratios ?? []) : median(row.project);
  const met = t.op === '≥' ? value >= t.value : value <= t.value;
  return [
    `${t.op} ${t.of === 'ratio' ? `${fmt(t.value, 2)} ×` : fmt(t.value, row.digits)}${t.note ? ` (${t.note})` : ''}`,
    Number.isNaN(value) ? '?' : met ? 'yes' : 'NO',
  ];
}

export function printResults(results: Results): void {
  const table = rows(results).map((row) => {
    return [
      row.label,
      minMedian(row.ceiling, row.digits),
      minMedian(row.project, row.digits),
      minMedian(row.ratios, 2),
      ...targetCells(row),
    ];
  });
  const header = [
    'min / median over the pairs',
    'ceiling (1 local activity + upsert)',
    'project',
    'project ÷ ceiling',
    'target',
    'median meets it',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `  ${cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd()}`;
  const pairs = results.plain.length;
  console.log(
    `\nsummary: ${pairs} pair${pairs === 1 ? '' : 's'} of each (ceiling, then burst); each ratio from a pair's two samples; services from ${results.from === 'dist' ? 'dist/ (as production runs them)' : 'source (as npm start runs them)'}`,
  );
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of table) console.log(line(r));
}
