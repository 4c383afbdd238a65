import { useId } from 'react';
import { isolatedPoints, linePath, linearScale, maxOf, niceTicks, type HistogramBar } from './chart-math.ts';

/**
 * Plain SVG charts: a time series with reference lines (objectives, thresholds) and a paired
 * histogram. Each names what it shows for screen readers, and each bucket's values are a hover title.
 */

export interface Series {
  name: string;
  values: readonly (number | null)[];
  /** One of the chart colour classes in styles.css: c1…c4. */
  tone: 'c1' | 'c2' | 'c3' | 'c4';
}

export interface ReferenceLine {
  value: number;
  label: string;
  tone?: 'bad' | 'warn' | 'muted';
}

const width = 640;
const height = 180;
const margin = { top: 10, right: 12, bottom: 24, left: 56 };

/** A bucket's time: with the date when the chart spans days, with seconds when it spans minutes. */
const clock = (iso: string, span: 'seconds' | 'minutes' | 'days') =>
  new Date(iso).toLocaleString(undefined, {
    ...(span === 'days' ? { month: 'short', day: 'numeric' } : {}),
    hour: '2-digit',
    minute: '2-digit',
    ...(span === 'seconds' ? { second: '2-digit' } : {}),
  });

export function TimeChart({
  title,
  times,
  series,
  lines = [],
  format,
  testId,
}: {
  title: string;
  /** Start of each bucket, oldest first. */
  times: readonly string[];
  series: readonly Series[];
  lines?: readonly ReferenceLine[];
  format: (value: number) => string;
  testId?: string;
}) {
  const titleId = useId();
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const max = maxOf(
    ...series.map((s) => s.values),
    lines.map((l) => l.value),
  );
  const ticks = niceTicks(max * 1.05);
  const top = ticks.at(-1) ?? 1;
  const x = linearScale([0, Math.max(times.length - 1, 1)], [margin.left, margin.left + plotWidth]);
  const y = linearScale([0, top], [margin.top + plotHeight, margin.top]);
  const spanMs = times.length > 1 ? Date.parse(times.at(-1)!) - Date.parse(times[0]!) : 0;
  const span = spanMs > 20 * 3600 * 1000 ? 'days' : spanMs < 10 * 60 * 1000 ? 'seconds' : 'minutes';
  const labelAt = times.length > 1 ? [0, Math.floor((times.length - 1) / 2), times.length - 1] : [0];
  const latest = (values: readonly (number | null)[]) => {
    for (let i = values.length - 1; i >= 0; i--) {
      const value = values[i];
      if (value !== null && value !== undefined) return value;
    }
    return null;
  };
  const summary = series
    .map((s) => {
      const value = latest(s.values);
      return `${s.name} ${value === null ? 'no data' : format(value)}`;
    })
    .join(', ');
  const slot = plotWidth / Math.max(times.length, 1);

  return (
    <figure className="chart" data-testid={testId}>
      <figcaption id={titleId}>{title}</figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-labelledby={titleId}
        aria-description={`latest: ${summary}`}
        preserveAspectRatio="xMidYMid meet"
      >
        {ticks.map((tick) => (
          <g key={tick} className="chart-grid">
            <line x1={margin.left} x2={margin.left + plotWidth} y1={y(tick)} y2={y(tick)} />
            <text x={margin.left - 6} y={y(tick)} dy="0.32em" textAnchor="end">
              {format(tick)}
            </text>
          </g>
        ))}
        {labelAt.map((i) =>
          times[i] === undefined ? null : (
            <text
              key={i}
              className="chart-axis"
              x={x(i)}
              y={height - 6}
              textAnchor={i === 0 ? 'start' : i === times.length - 1 ? 'end' : 'middle'}
            >
              {clock(times[i], span)}
            </text>
          ),
        )}
        {lines.map((line) => (
          <g key={line.label} className={`chart-line tone-${line.tone ?? 'bad'}`}>
            <line x1={margin.left} x2={margin.left + plotWidth} y1={y(line.value)} y2={y(line.value)} />
            <text x={margin.left + plotWidth - 4} y={y(line.value) - 4} textAnchor="end">
              {line.label}
            </text>
          </g>
        ))}
        {series.map((s) => (
          <g key={s.name} className={`chart-series ${s.tone}`}>
            <path
              d={linePath(s.values, x, y)}
              fill="none"
              data-series={s.name}
              data-points={s.values.filter((v) => v !== null).length}
            />
            {isolatedPoints(s.values).map((i) => (
              <circle key={i} cx={x(i)} cy={y(s.values[i]!)} r={2.5} />
            ))}
          </g>
        ))}
        {/* One hover target per bucket: its time and every series' value. */}
        {times.map((time, i) => (
          <rect
            key={time}
            className="chart-hover"
            x={x(i) - slot / 2}
            y={margin.top}
            width={slot}
            height={plotHeight}
          >
            <title>
              {`${clock(time, span === 'seconds' ? 'seconds' : 'days')}\n${series
                .map(
                  (s) =>
                    `${s.name}: ${s.values[i] === null || s.values[i] === undefined ? '—' : format(s.values[i])}`,
                )
                .join('\n')}`}
            </title>
          </rect>
        ))}
      </svg>
      <ul className="chart-legend">
        {series.map((s) => {
          const value = latest(s.values);
          return (
            <li key={s.name} className={s.tone}>
              <span className="swatch" aria-hidden="true" /> {s.name}{' '}
              <span className="muted">{value === null ? '—' : format(value)}</span>
            </li>
          );
        })}
        {lines.map((line) => (
          <li key={line.label} className={`line tone-${line.tone ?? 'bad'}`}>
            <span className="swatch dashed" aria-hidden="true" /> {line.label}
          </li>
        ))}
      </ul>
    </figure>
  );
}

export type { HistogramBar };

/** Reference and current side by side per bin, as shares of their own totals. */
export function HistogramChart({
  title,
  bars,
  referenceLabel,
  currentLabel,
  testId,
}: {
  title: string;
  bars: readonly HistogramBar[];
  referenceLabel: string;
  currentLabel: string;
  testId?: string;
}) {
  const titleId = useId();
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom - 14;
  // Shares: the axis ends at the tallest bar's tick, never above 100 %.
  const ticks = niceTicks(
    maxOf(
      bars.map((b) => b.reference),
      bars.map((b) => b.current),
    ),
  );
  const top = ticks.at(-1) ?? 1;
  const y = linearScale([0, top], [margin.top + plotHeight, margin.top]);
  const slot = plotWidth / Math.max(bars.length, 1);
  const barWidth = Math.max(1, slot / 2 - 1);
  const percent = (value: number) => `${(value * 100).toFixed(value > 0 && value < 0.1 ? 1 : 0)}%`;
  const labelEvery = Math.ceil(bars.length / 8);
  return (
    <figure className="chart" data-testid={testId}>
      <figcaption id={titleId}>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={titleId}>
        {ticks.map((tick) => (
          <g key={tick} className="chart-grid">
            <line x1={margin.left} x2={margin.left + plotWidth} y1={y(tick)} y2={y(tick)} />
            <text x={margin.left - 6} y={y(tick)} dy="0.32em" textAnchor="end">
              {percent(tick)}
            </text>
          </g>
        ))}
        {bars.map((bar, i) => {
          const left = margin.left + i * slot;
          return (
            <g key={`${bar.label}-${i}`} data-bin={bar.label}>
              <rect
                className="bar-reference"
                x={left + 1}
                y={y(bar.reference)}
                width={barWidth}
                height={Math.max(0, y(0) - y(bar.reference))}
              />
              <rect
                className="bar-current"
                x={left + 1 + barWidth}
                y={y(bar.current)}
                width={barWidth}
                height={Math.max(0, y(0) - y(bar.current))}
              />
              <rect className="chart-hover" x={left} y={margin.top} width={slot} height={plotHeight}>
                <title>{`${bar.label}\n${referenceLabel}: ${percent(bar.reference)}\n${currentLabel}: ${percent(bar.current)}`}</title>
              </rect>
              {/* Every few bins, and the last (the window's values beyond the range, often). */}
              {((i % labelEvery === 0 && bars.length - 1 - i >= labelEvery) || i === bars.length - 1) && (
                <text className="chart-axis" x={left + slot / 2} y={height - 10} textAnchor="middle">
                  {bar.label}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <ul className="chart-legend">
        <li className="reference">
          <span className="swatch" aria-hidden="true" /> {referenceLabel}
        </li>
        <li className="current">
          <span className="swatch" aria-hidden="true" /> {currentLabel}
        </li>
      </ul>
    </figure>
  );
}
