import type { IncomingMessage, ServerResponse } from 'node:http';
import { defineConfig, type Plugin } from 'vite';
import { configPath } from './src/config.ts';
import { browserConfig, parseDashboardEnv } from './server-env.ts';

const env = parseDashboardEnv(process.env);

// The dashboard talks to the control plane through the same origin, so no CORS in development
// or in `vite preview`; production puts both behind one reverse proxy.
const api = env.SHEPHERD_API_URL;
const proxy = { '/v1': api, '/readyz': api, '/healthz': api };

/** Serves `/config.json` from the environment at start, so one build works against any stack. */
function runtimeConfigPlugin(): Plugin {
  const body = JSON.stringify(browserConfig(env));
  const serve = (request: IncomingMessage, response: ServerResponse, next: () => void) => {
    if (request.url?.split('?')[0] !== configPath) return next();
    response.setHeader('content-type', 'application/json');
    response.setHeader('cache-control', 'no-store');
    response.end(body);
  };
  return {
    name: 'shepherd-runtime-config',
    configureServer: (server) => void server.middlewares.use(serve),
    configurePreviewServer: (server) => void server.middlewares.use(serve),
  };
}

export default defineConfig({
  plugins: [runtimeConfigPlugin()],
  server: { host: '127.0.0.1', port: env.DASHBOARD_PORT, strictPort: true, proxy },
  preview: { host: '127.0.0.1', port: env.DASHBOARD_PORT, strictPort: true, proxy },
  // JSX compiles with React 19's automatic runtime (tsconfig's "jsx": "react-jsx"); no React plugin needed.
  build: {
    // elkjs is one 1.5 MB module, loaded with the lineage page only.
    chunkSizeWarningLimit: 2000,
    rolldownOptions: {
      onwarn(warning, warn) {
        // @xyflow/react marks itself "use client" for server-component frameworks; meaningless in an SPA.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
});
