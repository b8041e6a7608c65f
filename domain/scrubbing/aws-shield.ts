// AWS Shield Advanced: the diversion is a Shield Advanced protection of the resource (an
// Elastic IP, load balancer or CloudFront distribution), created and deleted through the
// Shield API (SigV4). Requires an active Shield Advanced subscription.
import { z } from 'zod';
import { Prefixes } from './common.js';

export const defaultBaseUrl = 'https://shield.us-east-1.amazonaws.com';

/** Application-layer automatic mitigation applies to CloudFront distributions and Application Load Balancers only. */
const LAYER7 = /^arn:aws[a-z-]*:(cloudfront::\d{12}:distribution\/|elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer\/app\/)/;

export const config = z
  .strictObject({
    /** The addresses the resource answers on. */
    prefixes: Prefixes,
    resource_arn: z.string().regex(/^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:\S+$/, 'must be the resource ARN (arn:aws:ec2:region:account:eip-allocation/eipalloc-…)').max(2048),
    /** The Shield API's region, which signs the requests (Shield Advanced's API lives in us-east-1). */
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1').default('us-east-1'),
    /** For load balancers and CloudFront: also switch on application-layer automatic mitigation, blocking or counting. */
    automatic_response: z.enum(['block', 'count']).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.automatic_response !== undefined && !LAYER7.test(c.resource_arn)) {
      ctx.addIssue({ code: 'custom', path: ['automatic_response'], message: 'applies only to a CloudFront distribution or an Application Load Balancer' });
    }
  });
/** An IAM user's access key with shield:* on the resource. */
export const credentials = z.strictObject({
  access_key_id: z.string().regex(/^[A-Z0-9]{16,128}$/, 'must be the access key id'),
  secret_access_key: z.string().min(16, 'must be the secret access key').max(128),
});
