/**
 * The registry-free base images `mlcube base-image` makes (pure): what one holds, its tag, and the mmdebstrap
 * command line that makes its root filesystem from a Debian package source.
 */

/** A Debian (minbase) root filesystem of `suite` with `packages`; `node`: this host's node binary copied in. */
export interface BaseSpec {
  node: boolean;
  suite: string;
  packages: string[];
}

/** The repository of each kind: the tag's version part names the suite (Debian) or the Node major (node). */
export const DEBIAN_REPO = 'mlcube/debian';
export const NODE_REPO = 'mlcube/node-base';
/** The label an image made here carries: what it was made of, compared before one is reused. */
export const BASE_LABEL = 'org.mlcommons.mlcube.base-image';

const PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;
const SUITE = /^[a-z][a-z0-9-]*$/;

/** Sorted, deduplicated package names; the first name that is not a Debian package name, if any. */
export function parsePackages(list: string | undefined): { packages: string[]; bad?: string } {
  const names = (list ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const bad = names.find((p) => !PACKAGE.test(p));
  return { packages: [...new Set(names)].sort(), ...(bad === undefined ? {} : { bad }) };
}

export function validSuite(suite: string): boolean {
  return SUITE.test(suite);
}

/**
 * The tag an image of `spec` gets: `mlcube/debian:<suite>[_<packages>]` or `mlcube/node-base:<major>[_<packages>]`,
 * packages sorted and joined with `_`, a `+` written `P` (Debian names have neither `_` nor capitals, so parseBaseTag
 * reads the tag back). The node tag names no suite: node must be this host's, so the suite defaults to the host's.
 */
export function baseTag(spec: BaseSpec, nodeMajor: string): string {
  const version = [spec.node ? nodeMajor : spec.suite, ...spec.packages.map((p) => p.replace(/\+/g, 'P'))].join('_');
  return `${spec.node ? NODE_REPO : DEBIAN_REPO}:${version}`;
}

/**
 * The spec an image name made by baseTag stands for, so that a Dockerfile's missing `FROM` can be made here;
 * undefined for any other image (also a node tag of another Node major than this host's).
 */
export function parseBaseTag(image: string, nodeMajor: string, hostSuite: string | undefined): BaseSpec | undefined {
  const m = /^(?:docker\.io\/)?(mlcube\/debian|mlcube\/node-base):([A-Za-z0-9_.-]+)$/.exec(image);
  if (!m) return undefined;
  const [head, ...rest] = m[2].split('_');
  const packages = rest.map((p) => p.replace(/P/g, '+'));
  if (packages.some((p) => !PACKAGE.test(p))) return undefined;
  if (m[1] === NODE_REPO) return head === nodeMajor && hostSuite ? { node: true, suite: hostSuite, packages } : undefined;
  return validSuite(head) ? { node: false, suite: head, packages } : undefined;
}

/** The value of BASE_LABEL: everything the image was made of (node: this host's node version). */
export function baseLabel(spec: BaseSpec, nodeVersion: string): string {
  return `suite=${spec.suite} packages=${spec.packages.join(',')}${spec.node ? ` node=${nodeVersion}` : ''}`;
}

/** The command that gives the spec's flags back, for log lines and fixes. */
export function baseImageCommand(spec: BaseSpec, hostSuite: string | undefined): string {
  return [
    'mlcube base-image',
    ...(spec.node ? [] : ['--debian']),
    ...(spec.packages.length ? [`--packages=${spec.packages.join(',')}`] : []),
    ...(spec.suite !== hostSuite ? [`--suite=${spec.suite}`] : []),
  ].join(' ');
}

/**
 * mmdebstrap's arguments: a minbase root filesystem as a tar file, without documentation, man pages and
 * translations (as Debian's slim images), node copied in and run once (a node that cannot start here fails the
 * build); `sources`: the host's apt source files, used when they are for this suite (else mmdebstrap's default mirror).
 */
export function mmdebstrapArgs(spec: BaseSpec, out: string, sources: string[], nodePath: string): string[] {
  return [
    '--variant=minbase',
    '--format=tar',
    ...(spec.packages.length ? [`--include=${spec.packages.join(',')}`] : []),
    // No fsync per file: a build that dies is thrown away whole (halves the time on a busy disk, measured).
    '--dpkgopt=force-unsafe-io',
    '--dpkgopt=path-exclude=/usr/share/man/*',
    '--dpkgopt=path-exclude=/usr/share/locale/*',
    '--dpkgopt=path-exclude=/usr/share/doc/*',
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    ...(spec.node ? [`--customize-hook=copy-in ${nodePath} /usr/local/bin`, '--customize-hook=chroot "$1" /usr/local/bin/node --version'] : []),
    spec.suite,
    out,
    ...sources,
  ];
}

/** The image's configuration (docker import --change): tasks run as the caller's uid, who has no home in the image. */
export function importChanges(spec: BaseSpec, label: string): string[] {
  return [
    'ENV PATH=/usr/local/bin:/usr/bin:/bin',
    'ENV HOME=/tmp',
    'ENV LANG=C.UTF-8',
    'WORKDIR /tmp',
    `LABEL ${BASE_LABEL}=${JSON.stringify(label)}`,
    spec.node ? 'CMD ["node"]' : 'CMD ["/bin/bash"]',
  ];
}

/** What went wrong in a failed mmdebstrap, from its last output lines: the fix for the usual causes. */
export function mmdebstrapFix(output: string): string {
  if (/unable to pick chroot mode|unshare.*(?:failed|not permitted)|Operation not permitted|need to be root/i.test(output))
    return 'Run it as root (sudo), or allow unprivileged user namespaces (sysctl -w kernel.unprivileged_userns_clone=1) so that mmdebstrap can use its unshare mode.';
  if (/Unable to locate package|has no installation candidate|E: Package '.*' has no/i.test(output))
    return 'Check the package names in --packages (apt-cache policy NAME shows whether the Debian source has one).';
  if (/Failed to fetch|Could not resolve|Temporary failure resolving|Connection failed|Unable to connect|No such host/i.test(output))
    return "Make the Debian package mirror reachable (the host's /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list; apt-get update shows whether it answers).";
  return 'Read the mmdebstrap output above; run the same mmdebstrap command by hand (mlcube --log-level=debug base-image prints it).';
}
