import { z } from 'zod';

/**
 * What the dashboard needs to know about its surroundings, served at `/config.json` by the server
 * that serves the dashboard (vite preview or dev, see vite.config.ts), so one build runs anywhere.
 */
export const runtimeConfig = z.object({
  /**
   * Where the browser sends API calls. Empty: the dashboard's own origin, which proxies `/v1` to the
   * control plane (no CORS needed). Another origin needs the API to allow it.
   */
  apiBaseUrl: z.string(),
  mlflowUiUrl: z.url(),
  temporalUiUrl: z.url(),
  temporalNamespace: z.string().min(1),
  /**
   * Where runbooks and other repository docs are read: alerts name runbooks by repository path
   * (`docs/runbooks/failed-rollout.md`), linked as `<docsBaseUrl>/<path>`, e.g.
   * `https://github.com/acme/shepherd/blob/main`. Empty: the path is shown as text.
   */
  docsBaseUrl: z.union([z.literal(''), z.url()]),
  /**
   * How often pages poll: data that changes without an audit event (serving stats, lag) always, the
   * rest only while the event stream is down.
   */
  pollIntervalMs: z.number().int().min(500).max(600_000),
});
export type RuntimeConfig = z.infer<typeof runtimeConfig>;

export const configPath = '/config.json';

const trimSlash = (url: string) => url.replace(/\/+$/, '');

export async function loadRuntimeConfig(): Promise<RuntimeConfig> {
  const response = await fetch(configPath);
  if (!response.ok) throw new Error(`${configPath} answered ${response.status}`);
  const parsed = runtimeConfig.safeParse(await response.json());
  if (!parsed.success) {
    throw new Error(
      `${configPath} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const config = parsed.data;
  return {
    ...config,
    apiBaseUrl: trimSlash(config.apiBaseUrl),
    mlflowUiUrl: trimSlash(config.mlflowUiUrl),
    temporalUiUrl: trimSlash(config.temporalUiUrl),
    docsBaseUrl: trimSlash(config.docsBaseUrl),
  };
}
