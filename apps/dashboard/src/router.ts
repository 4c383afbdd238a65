import { useEffect, useState } from 'react';
import type { LineageKind } from './api.ts';

/**
 * Hash routes (`#/models/fraud`): plain links work with any static server and with the keyboard,
 * and a reload keeps the page.
 */
export type Route =
  | { page: 'overview' }
  | { page: 'models' }
  | { page: 'model'; model: string }
  | { page: 'version'; model: string; version: number }
  | { page: 'lineage'; kind?: LineageKind; id?: string }
  | { page: 'features' }
  | { page: 'rollouts' }
  | { page: 'rollout'; id: string }
  | { page: 'slos'; endpoint?: string }
  | { page: 'drift'; endpoint?: string }
  | { page: 'alerts' }
  | { page: 'alert'; id: string }
  | { page: 'audit' }
  | { page: 'not-found'; path: string };

const lineageKinds = new Set<string>([
  'topic_range',
  'feature_view',
  'training_set',
  'run',
  'model_version',
  'deployment',
  'alert',
]);

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  const parts = path
    .split('/')
    .filter(Boolean)
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    });
  const [first, second, third, fourth] = parts;
  switch (first) {
    case undefined:
    case 'overview':
      return { page: 'overview' };
    case 'models':
      if (second === undefined) return { page: 'models' };
      if (third === 'versions' && fourth !== undefined && /^\d+$/.test(fourth)) {
        return { page: 'version', model: second, version: Number(fourth) };
      }
      if (third === undefined) return { page: 'model', model: second };
      break;
    case 'lineage':
      if (second === undefined) return { page: 'lineage' };
      if (lineageKinds.has(second) && third !== undefined) {
        return { page: 'lineage', kind: second as LineageKind, id: parts.slice(2).join('/') };
      }
      break;
    case 'features':
      return { page: 'features' };
    case 'rollouts':
      return second === undefined ? { page: 'rollouts' } : { page: 'rollout', id: second };
    case 'slos':
      return second === undefined ? { page: 'slos' } : { page: 'slos', endpoint: second };
    case 'drift':
      return second === undefined ? { page: 'drift' } : { page: 'drift', endpoint: second };
    case 'alerts':
      return second === undefined ? { page: 'alerts' } : { page: 'alert', id: second };
    case 'audit':
      return { page: 'audit' };
  }
  return { page: 'not-found', path };
}

const e = encodeURIComponent;

export function href(route: Route): string {
  switch (route.page) {
    case 'overview':
      return '#/overview';
    case 'models':
      return '#/models';
    case 'model':
      return `#/models/${e(route.model)}`;
    case 'version':
      return `#/models/${e(route.model)}/versions/${route.version}`;
    case 'lineage':
      return route.kind && route.id ? `#/lineage/${route.kind}/${e(route.id)}` : '#/lineage';
    case 'features':
      return '#/features';
    case 'rollouts':
      return '#/rollouts';
    case 'rollout':
      return `#/rollouts/${e(route.id)}`;
    case 'slos':
      return route.endpoint ? `#/slos/${e(route.endpoint)}` : '#/slos';
    case 'drift':
      return route.endpoint ? `#/drift/${e(route.endpoint)}` : '#/drift';
    case 'alerts':
      return '#/alerts';
    case 'alert':
      return `#/alerts/${e(route.id)}`;
    case 'audit':
      return '#/audit';
    case 'not-found':
      return `#${route.path}`;
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export const navigate = (route: Route) => {
  window.location.hash = href(route);
};
