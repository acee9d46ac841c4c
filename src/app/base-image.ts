import { makeNodeBaseImage } from '../../runners/index.js';
import type { AppEnv } from './context.js';

export const DEFAULT_BASE_TAG = `mlcube/node-base:${process.versions.node.split('.')[0]}`;

/** `base-image`: a Docker base image holding this host's node, for machines without a registry. */
export async function makeBaseImage(tag: string, app: AppEnv): Promise<string> {
  return makeNodeBaseImage(tag, app.log);
}
