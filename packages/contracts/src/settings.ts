import { z } from 'zod';

/** A project's settings as the API shows them; only admins change them (audited, before and after). */
export const projectSettingsView = z.object({
  project: z.string(),
  /**
   * On: moving `champion` on an endpoint (approving a rollout's gate, promoting a rollout now)
   * must come from someone other than whoever started the rollout. See docs/security.md.
   */
  fourEyesPromotion: z.boolean(),
});
export type ProjectSettingsView = z.infer<typeof projectSettingsView>;

/**
 * The one setting there is, required: a body that changes nothing is a mistake worth a 400. (With a
 * second setting, each becomes optional and the OpenAPI document restates "at least one".)
 */
export const updateProjectSettingsBody = z.strictObject({ fourEyesPromotion: z.boolean() });
export type UpdateProjectSettingsBody = z.infer<typeof updateProjectSettingsBody>;
