import type { DriftView } from '../api.ts';
import { useDashboard } from '../context.tsx';
import { useLive } from '../live.ts';
import { href } from '../router.ts';
import { Badge, Empty, Resource, formatNumber } from '../ui.tsx';

type FeatureDrift = DriftView['features'][number];

/** Score over time as a line, with the threshold dashed. */
function Sparkline({ feature }: { feature: FeatureDrift }) {
  const points = feature.history ?? [];
  if (points.length < 2) return <span className="muted">—</span>;
  const width = 160;
  const height = 36;
  const max = Math.max(...points.map((p) => p.score), feature.threshold ?? 0) || 1;
  const x = (i: number) => (i / (points.length - 1)) * width;
  const y = (value: number) => height - (value / max) * (height - 2) - 1;
  const path = points
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(p.score).toFixed(1)}`)
    .join(' ');
  return (
    <svg
      width={width}
      height={height}
      role="img"
      aria-label={`${feature.name} score over ${points.length} windows`}
    >
      {feature.threshold != null && (
        <line x1={0} x2={width} y1={y(feature.threshold)} y2={y(feature.threshold)} className="threshold" />
      )}
      <path d={path} className="spark" fill="none" />
    </svg>
  );
}

/** Reference and current distributions side by side, as shares so different sample sizes compare. */
function Histograms({ feature }: { feature: FeatureDrift }) {
  const reference = feature.reference?.counts ?? [];
  const current = feature.current?.counts ?? [];
  const bins = Math.max(reference.length, current.length);
  if (bins === 0) return <span className="muted">—</span>;
  const share = (counts: number[]) => {
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    return counts.map((count) => count / total);
  };
  const r = share(reference);
  const c = share(current);
  const max = Math.max(...r, ...c) || 1;
  const width = 180;
  const height = 40;
  const bar = width / bins;
  return (
    <svg
      width={width}
      height={height}
      role="img"
      aria-label={`${feature.name}: reference and current histograms`}
    >
      {Array.from({ length: bins }, (_, i) => (
        <g key={i}>
          <rect
            x={i * bar}
            width={bar / 2 - 1}
            y={height - ((r[i] ?? 0) / max) * height}
            height={((r[i] ?? 0) / max) * height}
            className="hist-reference"
          />
          <rect
            x={i * bar + bar / 2}
            width={bar / 2 - 1}
            y={height - ((c[i] ?? 0) / max) * height}
            height={((c[i] ?? 0) / max) * height}
            className="hist-current"
          />
        </g>
      ))}
    </svg>
  );
}

function DriftTable({ endpoint }: { endpoint: string }) {
  const { api } = useDashboard();
  const drift = useLive(`drift:${endpoint}`, () => api.drift(endpoint));
  return (
    <Resource live={drift} what="Drift">
      {({ features }) =>
        features.length === 0 ? (
          <Empty title="No drift measured yet">Scores appear after the first monitoring window.</Empty>
        ) : (
          <table data-testid="drift-table">
            <thead>
              <tr>
                <th scope="col">Feature</th>
                <th scope="col">Score</th>
                <th scope="col">Threshold</th>
                <th scope="col">Over time</th>
                <th scope="col">
                  <span className="hist-key-reference">reference</span> vs{' '}
                  <span className="hist-key-current">current</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {features.map((feature) => {
                const drifted =
                  feature.drifted ??
                  (feature.score != null && feature.threshold != null && feature.score > feature.threshold);
                return (
                  <tr key={feature.name} className={drifted ? 'row-bad' : ''}>
                    <th scope="row">{feature.name}</th>
                    <td className="number">
                      {formatNumber(feature.score)} {drifted && <Badge tone="bad">drifted</Badge>}
                    </td>
                    <td className="number">{formatNumber(feature.threshold)}</td>
                    <td>
                      <Sparkline feature={feature} />
                    </td>
                    <td>
                      <Histograms feature={feature} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )
      }
    </Resource>
  );
}

export function DriftPage({ endpoint }: { endpoint?: string | undefined }) {
  const { api } = useDashboard();
  const endpoints = useLive('endpoints', () => api.listEndpoints());
  return (
    <>
      <h1>Drift{endpoint ? `: ${endpoint}` : ''}</h1>
      <Resource live={endpoints} what="Endpoints">
        {(endpoints) =>
          endpoints.length === 0 ? (
            <Empty title="No endpoints yet">Drift is watched per deployed endpoint.</Empty>
          ) : (
            <nav aria-label="Endpoints" className="tabs">
              {endpoints.map((item) => (
                <a
                  key={item.name}
                  href={href({ page: 'drift', endpoint: item.name })}
                  aria-current={item.name === endpoint ? 'page' : undefined}
                >
                  {item.name}
                </a>
              ))}
            </nav>
          )
        }
      </Resource>
      {endpoint ? <DriftTable endpoint={endpoint} /> : <p className="muted">Pick an endpoint.</p>}
    </>
  );
}
