import { useEffect, useState } from 'react';

interface Check {
  name: string;
  ok: boolean;
  latencyMs: number;
  detail?: string;
}

type Readiness =
  { state: 'loading' } | { state: 'error'; message: string } | { state: 'loaded'; checks: Check[] };

/** First page: is the platform up? Later pages (models, rollouts, lineage) build on the same API. */
export function App() {
  const [readiness, setReadiness] = useState<Readiness>({ state: 'loading' });

  useEffect(() => {
    let cancelled = false;
    const load = async () => {
      try {
        const response = await fetch('/readyz');
        const body = (await response.json()) as { checks: Check[] };
        if (!cancelled) setReadiness({ state: 'loaded', checks: body.checks });
      } catch (err) {
        if (!cancelled)
          setReadiness({ state: 'error', message: err instanceof Error ? err.message : String(err) });
      }
    };
    void load();
    const timer = setInterval(() => void load(), 5000);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, []);

  return (
    <main
      style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 960, margin: '2rem auto', padding: '0 1rem' }}
    >
      <h1>Shepherd</h1>
      <p>Train, evaluate, roll out and watch ML models.</p>
      <h2>Platform health</h2>
      {readiness.state === 'loading' && <p aria-busy="true">Checking services…</p>}
      {readiness.state === 'error' && <p role="alert">Cannot reach the API: {readiness.message}</p>}
      {readiness.state === 'loaded' && (
        <table>
          <thead>
            <tr>
              <th scope="col">Service</th>
              <th scope="col">State</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {readiness.checks.map((check) => (
              <tr key={check.name} data-testid={`service-${check.name}`}>
                <td>{check.name}</td>
                <td style={{ color: check.ok ? 'green' : 'crimson' }}>{check.ok ? 'healthy' : 'down'}</td>
                <td>{check.ok ? `${check.latencyMs} ms` : check.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
