import { expect } from 'chai';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { which } from '../../src/which.js';

describe('which: PATH lookup without spawning', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlcube-which-'));
  before(() => {
    writeFileSync(join(dir, 'tool'), '#!/bin/sh\n');
    chmodSync(join(dir, 'tool'), 0o755);
    writeFileSync(join(dir, 'plain'), 'not executable');
    writeFileSync(join(dir, 'afile'), '');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: Array<[string, string, string, string | undefined]> = [
    ['finds an executable', 'tool', dir, join(dir, 'tool')],
    ['skips a file without an execute bit', 'plain', dir, undefined],
    ['skips a PATH entry that is a file (ENOTDIR), as a shell does, and looks further', 'tool', `${join(dir, 'afile')}:${dir}`, join(dir, 'tool')],
    ['skips missing directories', 'tool', `/nonexistent-mlcube:${dir}`, join(dir, 'tool')],
    ['takes a path with a slash as it is', join(dir, 'tool'), '', join(dir, 'tool')],
    ['finds nothing on an empty PATH', 'tool', '', undefined],
  ];
  for (const [what, exe, path, expected] of cases) it(what, () => expect(which(exe, path)).to.equal(expected));
});
