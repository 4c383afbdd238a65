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

export const updateProjectSettingsBody = z
  .strictObject({ fourEyesPromotion: z.boolean().optional() })
  .refine((body) => Object.values(body).some((value) => value !== undefined), {
    message: 'name at least one setting to change (fourEyesPromotion)',
  });
export type UpdateProjectSettingsBody = z.infer<typeof updateProjectSettingsBody>;
