import type { Role } from '@shepherd/db/schema';

/**
 * What a route needs. read: see anything in the project; write: create models, train, move
 * non-champion aliases; approve: promote or reject versions; admin: manage tokens.
 */
export type Permission = 'read' | 'write' | 'approve' | 'admin';

export const rolePermissions: Record<Role, readonly Permission[]> = {
  viewer: ['read'],
  'ml-engineer': ['read', 'write'],
  approver: ['read', 'approve'],
  admin: ['read', 'write', 'approve', 'admin'],
};

export const allows = (role: Role, permission: Permission) => rolePermissions[role].includes(permission);
