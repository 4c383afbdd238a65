import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '@xyflow/react/dist/style.css';
import './styles.css';
import { App } from './App.tsx';
import { loadRuntimeConfig } from './config.ts';

const root = document.getElementById('root');
if (!root) throw new Error('missing #root');
const reactRoot = createRoot(root);

loadRuntimeConfig().then(
  (config) =>
    reactRoot.render(
      <StrictMode>
        <App config={config} />
      </StrictMode>,
    ),
  (err: unknown) =>
    reactRoot.render(
      <main className="sign-in">
        <div className="state state-error" role="alert">
          <strong>The dashboard cannot start</strong>
          <p>{err instanceof Error ? err.message : String(err)}</p>
        </div>
      </main>,
    ),
);
