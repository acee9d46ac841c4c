import { expect } from 'chai';
import { baseImageCommand, baseTag, importChanges, mmdebstrapArgs, mmdebstrapFix, parseBaseTag, parsePackages, type BaseSpec } from '../../runners/docker-base-spec.js';

describe('docker: registry-free base images (mlcube base-image): tags, mmdebstrap arguments, fixes', () => {
  // A tag is read back into what it holds, so that configure can make a Dockerfile's missing base image.
  const tags: { spec: BaseSpec; tag: string; command: string }[] = [
    { spec: { node: true, suite: 'bookworm', packages: [] }, tag: 'mlcube/node-base:20', command: 'mlcube base-image' },
    {
      spec: { node: false, suite: 'bookworm', packages: ['python3', 'python3-numpy'] },
      tag: 'mlcube/debian:bookworm_python3_python3-numpy',
      command: 'mlcube base-image --debian --packages=python3,python3-numpy',
    },
    { spec: { node: false, suite: 'trixie', packages: [] }, tag: 'mlcube/debian:trixie', command: 'mlcube base-image --debian --suite=trixie' },
    { spec: { node: true, suite: 'bookworm', packages: ['g++', 'make'] }, tag: 'mlcube/node-base:20_gPP_make', command: 'mlcube base-image --packages=g++,make' },
  ];
  for (const t of tags) {
    it(`${t.tag}: made from and read back into ${JSON.stringify(t.spec)}`, () => {
      expect(baseTag(t.spec, '20')).to.equal(t.tag);
      expect(parseBaseTag(t.tag, '20', 'bookworm')).to.deep.equal(t.spec);
      expect(baseImageCommand(t.spec, 'bookworm')).to.equal(t.command);
    });
  }

  const notOurs: { image: string; why: string }[] = [
    { image: 'node:20-slim', why: 'another repository' },
    { image: 'mlcube/node-base:22', why: "another Node major than this host's" },
    { image: 'mlcube/debian:Bookworm', why: 'not a suite name' },
    { image: 'mlcube/debian:bookworm_Python', why: 'not a package name' },
    { image: 'registry.example/mlcube/debian:bookworm', why: 'another registry' },
  ];
  for (const n of notOurs) it(`${n.image} is not one of ours (${n.why})`, () => expect(parseBaseTag(n.image, '20', 'bookworm')).to.equal(undefined));
  it('a node tag is not ours on a host whose Debian release is unknown (the node must match the suite)', () => expect(parseBaseTag('mlcube/node-base:20', '20', undefined)).to.equal(undefined));

  const lists: { list: string | undefined; packages: string[]; bad?: string }[] = [
    { list: undefined, packages: [] },
    { list: ' python3-numpy, python3,python3 ', packages: ['python3', 'python3-numpy'] },
    { list: 'python3,Numpy', packages: ['Numpy', 'python3'], bad: 'Numpy' },
    { list: 'a;b', packages: ['a;b'], bad: 'a;b' },
  ];
  for (const l of lists) it(`--packages=${String(l.list)}`, () => expect(parsePackages(l.list)).to.deep.equal({ packages: l.packages, ...(l.bad ? { bad: l.bad } : {}) }));

  it("mmdebstrap: minbase, the packages, the host's sources; node copied in and run once", () => {
    const node = mmdebstrapArgs({ node: true, suite: 'bookworm', packages: ['make'] }, '/t/rootfs.tar', ['/etc/apt/sources.list.d/debian.sources'], '/usr/bin/node');
    expect(node).to.include.members(['--variant=minbase', '--format=tar', '--include=make', '--customize-hook=copy-in /usr/bin/node /usr/local/bin']);
    expect(node.slice(-3)).to.deep.equal(['bookworm', '/t/rootfs.tar', '/etc/apt/sources.list.d/debian.sources']);
    const debian = mmdebstrapArgs({ node: false, suite: 'trixie', packages: [] }, '/t/r.tar', [], '/usr/bin/node');
    expect(debian.filter((a) => a.startsWith('--include') || a.startsWith('--customize-hook'))).to.deep.equal([]);
    expect(debian.slice(-2)).to.deep.equal(['trixie', '/t/r.tar']);
  });

  it('the image runs as any uid (HOME=/tmp) and carries the label that says what it holds', () => {
    const changes = importChanges({ node: false, suite: 'bookworm', packages: [] }, 'suite=bookworm packages=');
    expect(changes).to.include('ENV HOME=/tmp').and.include('LABEL org.mlcommons.mlcube.base-image="suite=bookworm packages="').and.include('CMD ["/bin/bash"]');
  });

  const failures: { output: string; fix: RegExp }[] = [
    { output: 'E: unable to pick chroot mode automatically', fix: /as root.*unshare/ },
    { output: 'E: Unable to locate package python4\nE: apt-get install failed', fix: /package names in --packages/ },
    { output: 'W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving', fix: /mirror reachable/ },
    { output: 'E: something else', fix: /log-level=debug/ },
  ];
  for (const f of failures) it(`a failed mmdebstrap: ${f.output.split('\n')[0]}`, () => expect(mmdebstrapFix(f.output)).to.match(f.fix));
});
