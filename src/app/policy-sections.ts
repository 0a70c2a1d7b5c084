import type { Config } from '../config/config.ts';
import { validateBreakerSection } from '../breakers/breaker-policy.ts';
import { validateCompensationSection } from '../compensation/compensation-policy.ts';
import { notificationSectionValidator, ONCALL_GROUP } from '../notify/notification-policy.ts';
import type { SectionValidator } from '../policy/validate-policy.ts';

/**
 * The validators of the policy sections other modules own (breakers, compensations, notifications):
 * `vigil run` and `vigil replay` check a file the same way.
 * @param groups recipient groups the configuration defines (undefined: group names are not checked)
 */
export function policySectionValidators(groups?: readonly string[]): Record<string, SectionValidator> {
  return { breakers: validateBreakerSection, compensations: validateCompensationSection, notifications: notificationSectionValidator(groups) };
}

/** The recipient groups of a configuration: `oncall` (smtp.to) and every smtp.recipients group. */
export function recipientGroups(config: Pick<Config, 'smtp'>): string[] {
  return [ONCALL_GROUP, ...Object.keys(config.smtp.recipients).filter((g) => g !== ONCALL_GROUP)];
}
