import { Suspense, lazy, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { ApiError, createApi, type Session } from './api.ts';
import type { RuntimeConfig } from './config.ts';
import { DashboardContext, useDashboard, type Dashboard } from './context.tsx';
import { href, useRoute, type Route } from './router.ts';
import { Loading, describeError } from './ui.tsx';
import { AlertsPage } from './pages/Alerts.tsx';
import { AuditPage } from './pages/Audit.tsx';
import { DriftPage } from './pages/Drift.tsx';
import { FeaturesPage } from './pages/Features.tsx';
import { ModelPage } from './pages/Model.tsx';
import { ModelsPage } from './pages/Models.tsx';
import { OverviewPage } from './pages/Overview.tsx';
import { RolloutPage, RolloutsPage } from './pages/Rollouts.tsx';
import { SlosPage } from './pages/Slos.tsx';
import { VersionPage } from './pages/Version.tsx';

// The graph libraries (elkjs above all) are most of the bundle: load them with the lineage page only.
const LineagePage = lazy(() =>
  import('./pages/Lineage.tsx').then((module) => ({ default: module.LineagePage })),
);

/** The token lives for the browser tab only: closing it signs out, and no other site can read it. */
const sessionKey = 'shepherd.session';

function readSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(sessionKey);
    if (!raw) return null;
    const value = JSON.parse(raw) as Partial<Session>;
    return typeof value.token === 'string' && typeof value.project === 'string'
      ? { token: value.token, project: value.project }
      : null;
  } catch {
    return null;
  }
}

export function App({ config }: { config: RuntimeConfig }) {
  const [session, setSession] = useState<Session | null>(readSession);
  const dashboard = useMemo<Dashboard | null>(
    () =>
      session
        ? {
            config,
            api: createApi(config.apiBaseUrl, session),
            signOut: () => {
              sessionStorage.removeItem(sessionKey);
              setSession(null);
            },
          }
        : null,
    [config, session],
  );

  if (!dashboard) {
    return (
      <SignIn
        config={config}
        onSignedIn={(next) => {
          sessionStorage.setItem(sessionKey, JSON.stringify(next));
          setSession(next);
        }}
      />
    );
  }
  return (
    <DashboardContext.Provider value={dashboard}>
      <Layout />
    </DashboardContext.Provider>
  );
}

function SignIn({ config, onSignedIn }: { config: RuntimeConfig; onSignedIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [project, setProject] = useState(config.defaultProject);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const candidate = { token: token.trim(), project: project.trim() };
    if (!/^shp_[A-Za-z0-9_-]+$/.test(candidate.token)) {
      setProblem('An API token starts with shp_ (create one with `shepherd tokens create`).');
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      // Any read proves the token and that it belongs to this project (another project's path is 404).
      await createApi(config.apiBaseUrl, candidate).listModels();
      onSignedIn(candidate);
    } catch (err) {
      setProblem(
        err instanceof ApiError && err.status === 404 && !err.missingRoute
          ? `This token does not belong to project “${candidate.project}”.`
          : `${describeError(err).title}: ${describeError(err).detail}`,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <form onSubmit={(event) => void submit(event)} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Shepherd</h1>
        <p>Sign in with an API token. It is kept in this browser tab only.</p>
        <label className="field">
          API token
          <input
            name="token"
            type="password"
            autoComplete="off"
            placeholder="shp_…"
            value={token}
            onChange={(event) => setToken(event.target.value)}
            required
            autoFocus
          />
        </label>
        <label className="field">
          Project
          <input
            name="project"
            value={project}
            onChange={(event) => setProject(event.target.value)}
            required
            pattern="[a-z0-9][a-z0-9\-]{0,62}"
          />
        </label>
        {problem && (
          <p className="state state-error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

const navigation: { label: string; route: Route; pages: Route['page'][] }[] = [
  { label: 'Overview', route: { page: 'overview' }, pages: ['overview'] },
  { label: 'Models', route: { page: 'models' }, pages: ['models', 'model', 'version'] },
  { label: 'Lineage', route: { page: 'lineage' }, pages: ['lineage'] },
  { label: 'Feature views', route: { page: 'features' }, pages: ['features'] },
  { label: 'Rollouts', route: { page: 'rollouts' }, pages: ['rollouts', 'rollout'] },
  { label: 'SLOs', route: { page: 'slos' }, pages: ['slos'] },
  { label: 'Drift', route: { page: 'drift' }, pages: ['drift'] },
  { label: 'Alerts', route: { page: 'alerts' }, pages: ['alerts'] },
  { label: 'Audit log', route: { page: 'audit' }, pages: ['audit'] },
];

function Layout() {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const { api, signOut } = useDashboard();

  // After navigating, move focus to the page so keyboard and screen-reader users start there.
  useEffect(() => {
    main.current?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }, [route]);

  return (
    <div className="layout">
      <a
        className="skip-link"
        href="#main"
        onClick={(event) => {
          event.preventDefault();
          main.current?.focus();
        }}
      >
        Skip to content
      </a>
      <header className="top">
        <a className="brand" href={href({ page: 'overview' })}>
          Shepherd
        </a>
        <span className="project" title="project">
          project <strong>{api.project}</strong>
        </span>
        <button type="button" className="link-button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <nav aria-label="Main" className="side">
        <ul>
          {navigation.map((item) => (
            <li key={item.label}>
              <a href={href(item.route)} aria-current={item.pages.includes(route.page) ? 'page' : undefined}>
                {item.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" ref={main} tabIndex={-1} className="content">
        <Page route={route} />
      </main>
    </div>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'overview':
      return <OverviewPage />;
    case 'models':
      return <ModelsPage />;
    case 'model':
      return <ModelPage model={route.model} />;
    case 'version':
      return <VersionPage model={route.model} version={route.version} />;
    case 'lineage':
      return (
        <Suspense fallback={<Loading what="the lineage graph" />}>
          <LineagePage kind={route.kind} id={route.id} />
        </Suspense>
      );
    case 'features':
      return <FeaturesPage />;
    case 'rollouts':
      return <RolloutsPage />;
    case 'rollout':
      return <RolloutPage id={route.id} />;
    case 'slos':
      return <SlosPage />;
    case 'drift':
      return <DriftPage endpoint={route.endpoint} />;
    case 'alerts':
      return <AlertsPage />;
    case 'audit':
      return <AuditPage />;
    case 'not-found':
      return (
        <>
          <h1>Page not found</h1>
          <p>
            Nothing lives at <code>{route.path}</code>.{' '}
            <a href={href({ page: 'overview' })}>Go to the overview</a>.
          </p>
        </>
      );
  }
}
