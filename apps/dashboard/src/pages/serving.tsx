import type { EndpointConfig, SloView } from '../api.ts';
import { Badge, formatNumber } from '../ui.tsx';

/** Champion and candidate shares of an endpoint's traffic, as a bar and in words. */
export function TrafficSplit({
  champion,
  candidate,
  candidateWeight,
  mode,
}: {
  champion?: number | undefined;
  candidate?: number | undefined;
  candidateWeight: number;
  mode?: string | undefined;
}) {
  const weight = Math.min(100, Math.max(0, candidateWeight));
  const championText = `champion${champion !== undefined ? ` v${champion}` : ''}`;
  const words =
    candidate === undefined
      ? `${championText} 100%`
      : mode === 'shadow'
        ? `${championText} 100%, candidate v${candidate} shadowed`
        : `${championText} ${100 - weight}% · candidate v${candidate} ${weight}%`;
  const candidateShare = candidate === undefined || mode === 'shadow' ? 0 : weight;
  return (
    <div className="split" role="img" aria-label={`traffic: ${words}`}>
      <div className="split-bar" aria-hidden="true">
        <span className="split-champion" style={{ width: `${100 - candidateShare}%` }} />
        {candidateShare > 0 && <span className="split-candidate" style={{ width: `${candidateShare}%` }} />}
      </div>
      <span className="small">{words}</span>
    </div>
  );
}

export function EndpointSplit({ endpoint }: { endpoint: EndpointConfig }) {
  return (
    <TrafficSplit
      champion={endpoint.champion?.version}
      candidate={endpoint.candidate?.version}
      candidateWeight={endpoint.candidateWeight}
      mode={endpoint.mode}
    />
  );
}

export const percent = (value: number | null) => (value === null ? '—' : `${(value * 100).toFixed(2)}%`);
export const ms = (value: number | null) => (value === null ? '—' : `${formatNumber(value, 1)} ms`);

/** The worst burn rate of a window: above 1 the error budget runs out before the SLO period does. */
export function worstBurn(window: SloView['windows'][number]): number | null {
  const rates = [window.burnRates.errors, window.burnRates.availability, window.burnRates.latency].filter(
    (rate): rate is number => rate !== null,
  );
  return rates.length === 0 ? null : Math.max(...rates);
}

export function SloStatus({ slo }: { slo: SloView }) {
  const window = slo.windows[0];
  if (!window || window.requests === 0) return <Badge tone="muted">no traffic</Badge>;
  const met = window.met.errors && window.met.availability && window.met.latencyP99;
  return slo.fastBurn ? (
    <Badge tone="bad">burning fast</Badge>
  ) : met ? (
    <Badge tone="good">within SLO</Badge>
  ) : (
    <Badge tone="warn">outside SLO</Badge>
  );
}

/** One line: the shortest window's latency, errors and budget burn. */
export function SloLine({ slo }: { slo: SloView }) {
  const window = slo.windows[0];
  return (
    <p className="small">
      <SloStatus slo={slo} />{' '}
      {window && window.requests > 0 && (
        <>
          {window.name}: p99 {ms(window.p99Ms)} (objective {slo.objectives.latencyP99Ms} ms) · errors{' '}
          {percent(window.errorRate)} · burn {formatNumber(worstBurn(window), 2)}
        </>
      )}
    </p>
  );
}
