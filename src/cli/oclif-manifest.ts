import { Plugin } from '@oclif/core/config';

/** Where oclif looks for the command manifest of the package at `root`. */
export const OCLIF_MANIFEST = 'oclif.manifest.json';

/**
 * The command manifest oclif reads at start-up instead of loading every command class and computing its flags,
 * args and help (~5 ms of every `mlcube` start; `oclif manifest` does the same at publish time). Computed from the
 * built CLI bundle, ignoring any manifest already on disk.
 */
export async function computeOclifManifest(root: string): Promise<unknown> {
  const plugin = new Plugin({ root, isRoot: true, ignoreManifest: true });
  await plugin.load();
  return plugin.manifest;
}
