import { createContext, useContext } from 'react';
import type { Api } from './api.ts';
import type { RuntimeConfig } from './config.ts';

export interface Dashboard {
  config: RuntimeConfig;
  api: Api;
  signOut: () => void;
}

export const DashboardContext = createContext<Dashboard | null>(null);

export function useDashboard(): Dashboard {
  const value = useContext(DashboardContext);
  if (!value) throw new Error('useDashboard outside the signed-in dashboard');
  return value;
}
