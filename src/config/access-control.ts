// spec.accessControl of the Configuration (daprd's AccessControlSpec): the service invocation
// policies the callee sidecar applies (core/invoke/acl.ts). daprd refuses to start when a policy
// lacks its appId, trustDomain or namespace; so does this, naming the line.
import { z } from 'zod';

/** allow | deny, any case; '' = unset. */
const actionSchema = z
  .string()
  .nullish()
  .transform((v) => v ?? '')
  .refine((v) => v === '' || /^(allow|deny)$/i.test(v), 'must be allow or deny');

const required = (what: string) => z.string({ error: `${what} is required` }).min(1, `${what} is required`);

const operationSchema = z
  .object({
    name: required('name'),
    httpVerb: z.array(z.string()).nullish().transform((v) => v ?? []),
    action: actionSchema,
  })
  .loose();

const policySchema = z
  .object({
    appId: required('appId'),
    defaultAction: actionSchema,
    trustDomain: required('trustDomain'),
    namespace: required('namespace'),
    operations: z.array(operationSchema).nullish().transform((v) => v ?? []),
  })
  .loose();

export const accessControlSchema = z
  .object({
    defaultAction: actionSchema,
    trustDomain: z.string().nullish().transform((v) => v ?? ''),
    // Absent and [] differ: with no defaultAction daprd denies in the first case, allows in the second.
    policies: z.array(policySchema).nullish().transform((v) => v ?? undefined),
  })
  .loose();

export type AccessControlConfig = z.infer<typeof accessControlSchema>;
