import { expect } from 'chai';
import { prng } from '../helpers/prng.js';
import { createPublicKey } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { copyFixture, mlcube, tempDir } from '../helpers/cli.js';
import { verifyRun } from '../../src/provenance/verify.js';

const parses = (b: Buffer): { ok: boolean; value?: unknown } => {
  try {
    return { ok: true, value: JSON.parse(b.toString('utf8')) };
  } catch {
    return { ok: false };
  }
};

/**
 * Property: any byte-level mutation of a signed run's record, envelope or manifests either leaves the JSON it holds
 * the same (whitespace) or makes verify fail; verify never throws and never passes a changed meaning.
 */
describe('provenance verify, fuzzed: mutated records, envelopes and manifests never verify and never crash', function () {
  let cube: { dir: string; cleanup: () => void };
  let keys: { dir: string; cleanup: () => void };
  let runDir: string;
  let ws: string;
  before(async () => {
    cube = copyFixture('basic');
    keys = tempDir('mlcube-keys-');
    await mlcube(['keys', 'generate', `--dir=${keys.dir}`]);
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy', '--json'], { env: { MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key') } });
    expect(r.exitCode, r.stderr).to.equal(0);
    ws = join(cube.dir, 'workspace');
    runDir = join(ws, '.mlcube', 'runs', JSON.parse(r.stdout).tasks[0].run_id);
  });
  after(() => {
    cube.cleanup();
    keys.cleanup();
  });

  it('holds for 400 seeded mutations', async () => {
    const key = { key: createPublicKey(readFileSync(join(keys.dir, 'signing.pub'))), source: 'test' };
    expect((await verifyRun({ dir: runDir, workspace: ws }, key)).problems).to.deep.equal([]);
    const files = ['record.json', 'provenance.dsse.json', ...readdirSync(join(runDir, 'manifests')).map((f) => `manifests/${f}`)];
    const rand = prng(20261201);
    const pick = (n: number) => Math.floor(rand() * n);
    for (let i = 0; i < 400; i++) {
      const file = join(runDir, files[pick(files.length)]);
      const original = readFileSync(file);
      let b = Buffer.from(original);
      const op = pick(5);
      const at = pick(b.length);
      if (op === 0) b[at] ^= 1 << pick(8);
      else if (op === 1) b = b.subarray(0, at);
      else if (op === 2) b = Buffer.concat([b.subarray(0, at), Buffer.from([pick(256)]), b.subarray(at)]);
      else if (op === 3) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + pick(16))]);
      else b = Buffer.concat([b.subarray(0, at), Buffer.from(['null', '0', '""', '[]', '{}', '-1', 'true'][pick(7)]), b.subarray(at + 1 + pick(8))]);
      writeFileSync(file, b);
      try {
        const r = await verifyRun({ dir: runDir, workspace: ws }, key);
        const was = parses(original);
        const now = parses(b);
        const sameMeaning = !file.includes('manifests') && now.ok && isDeepStrictEqual(was.value, now.value);
        if (!sameMeaning) expect(r.ok, `case ${i} (${file}, op ${op} at ${at}) verified`).to.equal(false);
      } finally {
        writeFileSync(file, original);
      }
    }
  });
});
