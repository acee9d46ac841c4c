import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist-test/test -> the cube's source tree
const SRC = resolve(fileURLToPath(import.meta.url), '../../../src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The top-level entry of src/ (a directory such as `train`, or a file) each relative import of `file` lands in. */
function importedAreas(file: string): string[] {
  const specs = [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'|\bimport\('([^']+)'\)/gm)].map((m) => m[1] ?? m[2]);
  return specs.filter((s) => s.startsWith('.')).map((s) => relative(SRC, resolve(dirname(file), s)).split(sep)[0]);
}

const TASKS = ['download', 'train', 'evaluate', 'export', 'attack', 'infer', 'report'];
const areaOf = (file: string) => relative(SRC, file).split(sep)[0];

describe('mnist cube: source layout', () => {
  const files = tsFiles(SRC);

  it('sees imports at all (guards the rules below against a broken import scan)', () => {
    expect(importedAreas(join(SRC, 'evaluate', 'task.ts'))).to.include.members(['model', 'data']);
    expect(importedAreas(join(SRC, 'train', 'parallel.ts'))).to.include('train');
  });

  it('no task imports another task: what train and evaluate share (architectures, batches, backend, saving and loading) is in src/model/', () => {
    const offenders = files.flatMap((f) =>
      importedAreas(f)
        .filter((a) => TASKS.includes(a) && TASKS.includes(areaOf(f)) && a !== areaOf(f))
        .map((a) => `${relative(SRC, f)} -> ${a}/`),
    );
    expect(offenders).to.deep.equal([]);
  });

  it('src/model/ and src/privacy/ import no task', () => {
    const offenders = files.filter((f) => ['model', 'privacy'].includes(areaOf(f)) && importedAreas(f).some((a) => TASKS.includes(a)));
    expect(offenders.map((f) => relative(SRC, f))).to.deep.equal([]);
  });
});
