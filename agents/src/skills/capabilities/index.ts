import { educationCapabilities } from './education';
import { marketingCapabilities } from './marketing';
import { mathCapabilities } from './math';
import { platformCapabilities } from './platform';
import { platformOpsCapabilities } from './platform-ops';
import { salesCapabilities } from './sales';
import { seoCapabilities } from './seo';
import type { CapabilityImpl } from './kit/request';

/** Capability name -> its specific implementation; capabilities not listed run their template's playbook. */
export const capabilityRegistry: Readonly<Record<string, CapabilityImpl>> = {
  ...mathCapabilities,
  ...seoCapabilities,
  ...marketingCapabilities,
  ...salesCapabilities,
  ...platformCapabilities,
  ...platformOpsCapabilities,
  ...educationCapabilities,
};

export type { CapabilityImpl };
export { firstDeliverable } from './first-deliverables';
export { searchManifests } from './platform';
