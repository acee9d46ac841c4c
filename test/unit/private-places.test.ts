import { expect } from 'chai';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePrivatePlace, privateRoot, removePrivatePlace, sweepPrivatePlaces } from '../../src/private-places.js';
import { procStartTicks } from '../../src/process-group.js';

/** The private places of encrypted parameters (src/private-places.ts): what a later mlcube sweeps, and what it leaves. */
describe('private places: made 0700 by their mlcube, swept once it is gone', () => {
  const made: string[] = [];
  const place = (name: string) => {
    const dir = join(tmpdir(), name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    made.push(dir);
    return dir;
  };
  after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("a live mlcube's place stays; a gone one's, or a reused pid's, goes; other names are never touched", () => {
    const mine = makePrivatePlace();
    made.push(mine);
    expect(mine.startsWith(join(privateRoot(), `mlcube-plain-${process.pid}-`))).to.equal(true);
    // pid 2^22 - 1 is above Linux's default pid_max: no such process.
    const gone = place('mlcube-plain-4194303-12345-abcdef');
    const reused = place(`mlcube-plain-${process.pid}-${(procStartTicks(process.pid) ?? 0) + 1}-abcdef`);
    const unrelated = place('mlcube-plain-notours');
    const swept = sweepPrivatePlaces();
    expect(swept).to.include.members([gone, reused]);
    expect([existsSync(mine), existsSync(gone), existsSync(reused), existsSync(unrelated)]).to.deep.equal([true, false, false, true]);
    removePrivatePlace(mine);
    expect(existsSync(mine)).to.equal(false);
  });
});
