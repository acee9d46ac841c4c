import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CORPUS, FIXTURES, mlcube } from '../helpers/cli.js';

/**
 * Conformance over the whole corpus: every case in test/fixtures/python-goldens was produced by running the
 * Python MLCube 0.0.10rc2 (see that folder's README). Where Python succeeds we must print the same bytes; where
 * it fails we must fail too, with a located message instead of a traceback. Deliberate differences are listed.
 */
const GOLDENS = join(FIXTURES, 'python-goldens');
// The settings path the goldens were produced with (describe prints it); no such file needs to exist.
const SETTINGS = '/tmp/pyml-settings.yaml';

interface Golden {
  argv: string[];
  exit: number;
  stdout: string;
  stderr_tail: string;
}

/** Cases where we differ on purpose, with the check that replaces byte equality. */
const DELIBERATE: Record<string, { why: string; check: (stdout: string, g: Golden) => void }> = {
  'mlcube_examples__mnist__mlcube.yaml.extra_dashdash_override.json': {
    why: '--data_dir=/x is silently ignored by Python (medperf#489); here it overrides like data_dir=/x',
    check: (stdout, g) => {
      const value = g.argv.find((a) => a.startsWith('--data_dir='))!.split('=')[1];
      expect(stdout.split(`default: ${value}`).length - 1, 'data_dir overridden in download and train').to.equal(2);
      expect(g.stdout).to.not.contain(`default: ${value}`);
    },
  },
};

/** For cases Python rejects: what our message must say instead of a traceback. */
function expectedRejection(file: string, g: Golden): RegExp {
  if (g.argv.some((a) => a.includes('bogus'))) return /-P docker\.bogus=1: key "docker\.bogus" matches nothing/;
  if (file.includes('k8s__mlcube_k8s__tests__test_data__test_cube__mlcube.yaml')) return /`tasks` is a list: that is the obsolete v1 MLCube schema/;
  if (file.includes('_historical__.mlcube.yaml')) return /\/docker\/build_always is not a known key here/;
  return /breaks the schema.*the top level is missing the required key "tasks"/s;
}

const subst = (s: string) => s.replaceAll('<corpus>', CORPUS);
const unsubst = (s: string) => s.replaceAll(CORPUS, '<corpus>');

function corpusYamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...corpusYamlFiles(p));
    else if (/(^|_)mlcube\.yaml$/.test(e)) out.push(p);
  }
  return out;
}

describe('corpus conformance against the Python MLCube (test/fixtures/python-goldens)', function () {
  const files = readdirSync(GOLDENS)
    .filter((f) => f.endsWith('.json'))
    .sort();
  // The corpus is shared material beside the clone (../shared), not part of it: a user's clone has none.
  before(function () {
    if (!existsSync(CORPUS)) {
      console.warn(`    skip: the corpus conformance suite needs the public cube corpus at ${CORPUS} (not in this clone)`);
      this.skip();
    }
  });

  it('covers every cube file of the corpus with docker, docker --resolve and singularity --resolve cases', () => {
    const cubes = corpusYamlFiles(CORPUS);
    expect(cubes.length).to.be.greaterThan(12);
    for (const cube of cubes) {
      const stem = relative(CORPUS, cube).replaceAll('/', '__');
      for (const c of ['docker', 'docker_resolve', 'singularity_resolve']) expect(files, `${stem}.${c}.json`).to.include(`${stem}.${c}.json`);
    }
  });

  for (const file of files) {
    const g: Golden = JSON.parse(readFileSync(join(GOLDENS, file), 'utf8'));
    const deliberate = DELIBERATE[file];
    const title = `${g.argv.map(unsubst).join(' ')} ${g.exit === 0 ? '' : '(Python rejects it) '}${deliberate ? `[differs on purpose: ${deliberate.why}]` : ''}`;
    it(title, async () => {
      const r = await mlcube(g.argv.map(subst), { cwd: '/tmp', env: { MLCUBE_SYSTEM_SETTINGS: SETTINGS } });
      if (g.exit === 0) {
        expect(r.exitCode, r.stderr).to.equal(0);
        if (deliberate) deliberate.check(unsubst(r.stdout), g);
        else expect(unsubst(r.stdout)).to.equal(g.stdout);
      } else {
        expect(r.exitCode).to.equal(2);
        expect(r.stdout).to.equal('');
        expect(r.stderr).to.match(expectedRejection(file, g));
        expect(r.stderr).to.not.contain('Traceback');
      }
    });
  }
});
