import { isAbsolute, join, normalize } from 'node:path';

/** expandvars(expanduser(p)) then relative-to-workspace, as the Python Shell.generate_mounts_and_args. */
export function hostPath(value: string, workspace: string, env: Record<string, string | undefined>, home: string): string {
  let p = value;
  if (p === '~' || p.startsWith('~/')) p = home + p.slice(1);
  // $VAR and ${VAR}; unset variables stay as written (os.path.expandvars semantics).
  p = p.replace(/\$(\w+)|\$\{(\w+)\}/g, (m, a, b) => env[a ?? b] ?? m);
  const full = normalize(isAbsolute(p) ? p : join(workspace, p));
  // A trailing separator marks a directory in mlcube.yaml; the host path itself carries none.
  return full.length > 1 ? full.replace(/[\\/]+$/, '') : full;
}
