import { defineConfig } from 'vite';

// The dashboard talks to the control plane through the same origin, so no CORS in development
// or in `vite preview`; production puts both behind one reverse proxy.
const api = process.env.SHEPHERD_API_URL ?? 'http://127.0.0.1:8080';
const proxy = { '/v1': api, '/readyz': api, '/healthz': api };

export default defineConfig({
  server: { host: '127.0.0.1', port: Number(process.env.DASHBOARD_PORT ?? 5173), strictPort: true, proxy },
  preview: { host: '127.0.0.1', port: Number(process.env.DASHBOARD_PORT ?? 5173), strictPort: true, proxy },
});
