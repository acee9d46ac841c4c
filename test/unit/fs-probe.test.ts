import { expect } from 'chai';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realFs } from '../../src/params/fs-probe.js';

describe('realFs.realTarget: where a write to a path lands (links followed, dangling ones too)', () => {
  let dir: string;
  before(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'mlcube-realtarget-')));
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    symlinkSync(join(dir, 'a'), join(dir, 'abs-link'));
    symlinkSync('a/b', join(dir, 'rel-link'));
    symlinkSync('/etc/cron.d/evil', join(dir, 'dangling'));
    symlinkSync('../up', join(dir, 'a', 'dotdot'));
    symlinkSync('loop2', join(dir, 'loop1'));
    symlinkSync('loop1', join(dir, 'loop2'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, string, string][] = [
    ['an existing directory', 'a/b', 'a/b'],
    ['a missing tail is appended', 'a/b/new/file.txt', 'a/b/new/file.txt'],
    ['an absolute link', 'abs-link/b/x', 'a/b/x'],
    ['a relative link', 'rel-link/x', 'a/b/x'],
    ['a link whose target climbs with ..', 'a/dotdot/x', 'up/x'],
  ];
  for (const [name, rel, want] of cases) it(name, () => expect(realFs.realTarget(join(dir, rel))).to.equal(join(dir, want)));
  it('a dangling link: its target (creating the file creates that)', () => expect(realFs.realTarget(join(dir, 'dangling'))).to.equal('/etc/cron.d/evil'));
  it('a loop ends after 40 links without throwing', () => expect(realFs.realTarget(join(dir, 'loop1', 'x'))).to.be.a('string'));
  it('the root', () => expect(realFs.realTarget('/')).to.equal('/'));
});
