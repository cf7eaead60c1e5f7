/**
 * Summary statistics for benchmark samples. Every figure coord reports is a median with its
 * spread, because this machine is shared and a single run says little.
 */

/** A sample set reduced to the figures the tables print. */
export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  p25: number;
  p75: number;
  p99: number;
}

/** The `q` quantile (0..1) of `values`, linearly interpolated between order statistics. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower] as number;
  const high = sorted[upper] as number;
  return low + (high - low) * (position - lower);
}

/** Median, quartiles, p99 and range of `values`. */
export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    median: quantile(values, 0.5),
    min: Math.min(...values),
    max: Math.max(...values),
    p25: quantile(values, 0.25),
    p75: quantile(values, 0.75),
    p99: quantile(values, 0.99),
  };
}

/** A number with a sensible number of digits for a table cell (3 significant, no exponent). */
export function fmt(value: number, digits?: number): string {
  if (!Number.isFinite(value)) return '–';
  if (digits !== undefined) return value.toFixed(digits);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/** `min–max` of a summary, for the spread column. */
export function range(summary: Summary, digits?: number): string {
  return `${fmt(summary.min, digits)}–${fmt(summary.max, digits)}`;
}

/** `p25–p75` of a summary. */
export function iqr(summary: Summary, digits?: number): string {
  return `${fmt(summary.p25, digits)}–${fmt(summary.p75, digits)}`;
}

/** A ratio cell: `2.41×`. */
export function ratio(numerator: number, denominator: number): string {
  if (!Number.isFinite(numerator) || !Number.isFinite(denominator) || denominator === 0) return '–';
  const value = numerator / denominator;
  if (value >= 100) return `${value.toFixed(0)}×`;
  if (value >= 10) return `${value.toFixed(1)}×`;
  if (value >= 0.1) return `${value.toFixed(2)}×`;
  return `${value.toPrecision(2)}×`;
}
