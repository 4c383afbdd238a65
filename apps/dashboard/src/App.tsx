import { Suspense, lazy, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { createApi, roles, whoami, type Api, type Role, type Session } from './api.ts';
import {
  beginSignIn,
  completeSignInOnce,
  fetchAuthConfig,
  isCallback,
  projectSession,
  projectsInToken,
  providerLabel,
  redirectUriOf,
  SignInError,
  type OidcSettings,
} from './oidc.ts';
import type { RuntimeConfig } from './config.ts';
import { DashboardContext, useDashboard, type Dashboard } from './context.tsx';
import { openEventStream, type StreamStatus } from './event-stream.ts';
import { LiveEventsContext, createLiveSignals, type LiveEvents } from './live.ts';
import { href, useRoute, type Route } from './router.ts';
import { Badge, Loading, describeError } from './ui.tsx';
import { AlertPage, AlertsPage } from './pages/Alerts.tsx';
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
    const valid =
      typeof value.token === 'string' &&
      typeof value.project === 'string' &&
      typeof value.projectName === 'string' &&
      typeof value.tokenName === 'string' &&
      roles.includes(value.role as Session['role']);
    // A session from an older dashboard (no role) signs in again.
    return valid ? (value as Session) : null;
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
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [provider, setProvider] = useState<OidcSettings | null>(null);
  // A provider's token granting several projects: which one to open.
  const [choices, setChoices] = useState<{ token: string; projects: { project: string; role: Role }[] }>();
  // The query string as the page loaded: the provider's answer, when coming back from it.
  const [answer] = useState(() => window.location.search);

  useEffect(() => {
    let live = true;
    fetchAuthConfig(config.apiBaseUrl).then(
      (settings) => live && setProvider(settings),
      // The token field still works; the provider button just does not show.
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [config.apiBaseUrl]);

  useEffect(() => {
    if (!isCallback(answer)) return;
    // The code and state leave the address bar (and the history) before anything else.
    window.history.replaceState(null, '', `${window.location.pathname}${window.location.hash}`);
    let live = true;
    setBusy(true);
    completeSignInOnce(answer, { storage: sessionStorage })
      .then(async (signedIn) => {
        const projects = projectsInToken(signedIn.token, signedIn.roleClaim);
        if (projects.length > 1) {
          if (live) setChoices({ token: signedIn.token, projects });
          return;
        }
        // One project: the token names it, as an API token does.
        const session = await whoami(config.apiBaseUrl, signedIn.token);
        if (live) onSignedIn(session);
      })
      .catch((err: unknown) => {
        if (!live) return;
        const { title, detail } = describeError(err);
        setProblem(err instanceof SignInError ? detail : `${title}: ${detail}`);
      })
      .finally(() => live && setBusy(false));
    return () => {
      live = false;
    };
    // Not on onSignedIn: App passes a new function each render, and the answer is handled once.
  }, [answer, config.apiBaseUrl]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const candidate = token.trim();
    if (!/^shp_[A-Za-z0-9_-]+$/.test(candidate)) {
      setProblem('An API token starts with shp_ (create one with `shepherd tokens create`).');
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      // The token names its project and role: nothing else to ask.
      onSignedIn(await whoami(config.apiBaseUrl, candidate));
    } catch (err) {
      const { title, detail } = describeError(err);
      setProblem(`${title}: ${detail}`);
    } finally {
      setBusy(false);
    }
  };

  const signInWithProvider = async (settings: OidcSettings) => {
    setBusy(true);
    setProblem(null);
    try {
      window.location.assign(
        await beginSignIn(settings, { redirectUri: redirectUriOf(window.location), storage: sessionStorage }),
      );
    } catch (err) {
      setProblem(describeError(err).detail);
      setBusy(false);
    }
  };

  const pick = async (choice: { project: string; role: Role }) => {
    if (!choices) return;
    setBusy(true);
    setProblem(null);
    try {
      onSignedIn(await projectSession(config.apiBaseUrl, choices.token, choice));
    } catch (err) {
      const { title, detail } = describeError(err);
      setProblem(`${title}: ${detail}`);
      setBusy(false);
    }
  };

  if (choices) {
    return (
      <main className="sign-in">
        <form onSubmit={(event) => event.preventDefault()} aria-labelledby="sign-in-title">
          <h1 id="sign-in-title">Shepherd</h1>
          <p>Your sign-in grants roles in several projects. Open one:</p>
          {choices.projects.map((choice) => (
            <p key={choice.project}>
              <button type="button" disabled={busy} onClick={() => void pick(choice)}>
                {choice.project} · {choice.role}
              </button>
            </p>
          ))}
          {problem && (
            <p className="state state-error" role="alert">
              {problem}
            </p>
          )}
        </form>
      </main>
    );
  }

  return (
    <main className="sign-in">
      <form onSubmit={(event) => void submit(event)} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Shepherd</h1>
        <p>Sign in with an API token; it belongs to one project. It is kept in this browser tab only.</p>
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
        {problem && (
          <p className="state state-error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        {provider && (
          <p>
            or{' '}
            <button type="button" disabled={busy} onClick={() => void signInWithProvider(provider)}>
              Sign in with {providerLabel(provider.issuer)}
            </button>
          </p>
        )}
      </form>
    </main>
  );
}

/** One event stream per signed-in tab, shared by every page through LiveEventsContext. */
function useEventStream(api: Api): LiveEvents {
  const [status, setStatus] = useState<StreamStatus>('connecting');
  const signals = useMemo(() => createLiveSignals(), []);
  useEffect(
    () =>
      openEventStream({
        url: api.eventsUrl,
        token: api.token,
        onAudit: (event) => signals.emit({ type: 'audit', event }),
        onReset: () => signals.emit({ type: 'reset' }),
        onStatus: (next) => setStatus(next),
      }),
    [api, signals],
  );
  return useMemo(() => ({ status, subscribe: signals.subscribe }), [status, signals]);
}

const streamBadges: Record<StreamStatus, { tone: 'good' | 'warn' | 'muted'; text: string; title: string }> = {
  connecting: { tone: 'muted', text: 'connecting…', title: 'Opening the live event stream' },
  live: { tone: 'good', text: 'live', title: 'Pages update as changes happen' },
  reconnecting: {
    tone: 'warn',
    text: 'reconnecting…',
    title: 'The live event stream dropped; pages poll until it is back',
  },
  unavailable: {
    tone: 'muted',
    text: 'polling',
    title: 'The control plane offers no event stream to this token; pages poll',
  },
};

const navigation: { label: string; route: Route; pages: Route['page'][] }[] = [
  { label: 'Overview', route: { page: 'overview' }, pages: ['overview'] },
  { label: 'Models', route: { page: 'models' }, pages: ['models', 'model', 'version'] },
  { label: 'Lineage', route: { page: 'lineage' }, pages: ['lineage'] },
  { label: 'Feature views', route: { page: 'features' }, pages: ['features'] },
  { label: 'Rollouts', route: { page: 'rollouts' }, pages: ['rollouts', 'rollout'] },
  { label: 'SLOs', route: { page: 'slos' }, pages: ['slos'] },
  { label: 'Drift', route: { page: 'drift' }, pages: ['drift'] },
  { label: 'Alerts', route: { page: 'alerts' }, pages: ['alerts', 'alert'] },
  { label: 'Audit log', route: { page: 'audit' }, pages: ['audit'] },
];

function Layout() {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const { api, signOut, config } = useDashboard();
  const events = useEventStream(api);
  const stream = streamBadges[events.status];

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
        <span className="project" title={`project ${api.session.project}`}>
          project <strong>{api.session.projectName}</strong>
        </span>
        <span className="muted small" title="the token you signed in with, and its role">
          {api.session.tokenName} · {api.session.role}
        </span>
        <span title={stream.title} data-testid="live-status" data-status={events.status}>
          <Badge tone={stream.tone}>{stream.text}</Badge>
          {events.status !== 'live' && (
            <span className="visually-hidden"> (pages refresh every {config.pollIntervalMs / 1000} s)</span>
          )}
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
        <LiveEventsContext.Provider value={events}>
          <Page route={route} />
        </LiveEventsContext.Provider>
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
      return <SlosPage endpoint={route.endpoint} />;
    case 'drift':
      return <DriftPage endpoint={route.endpoint} />;
    case 'alerts':
      return <AlertsPage />;
    case 'alert':
      return <AlertPage id={route.id} />;
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
