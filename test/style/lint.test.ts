import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ESLint } from 'eslint';
import * as prettier from 'prettier';
import { execa } from 'execa';
import { REPO } from '../helpers/cli.js';

// `npm test` runs the linter and the format check as tests, so a style failure is counted in the closing line.

/** The repository's tracked and not-ignored files (what a clean clone has), relative to REPO. */
async function projectFiles(): Promise<string[]> {
  const r = await execa('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: REPO });
  return r.stdout.split('\n').filter(Boolean);
}

describe('style (eslint.config.js, .prettierrc.json)', function () {
  this.timeout(300_000);

  it('eslint reports no problem (typescript-eslint recommended, layering rules)', async () => {
    const eslint = new ESLint({ cwd: REPO });
    const results = await eslint.lintFiles(['.']);
    const problems = results.flatMap((r) => r.messages.map((m) => `${relative(REPO, r.filePath)}:${m.line}:${m.column} ${m.ruleId ?? 'parse'}: ${m.message}`));
    expect(results.length, 'files linted').to.be.greaterThan(100);
    expect(problems, 'run `npm run lint -- --fix`, then fix what is left by hand').to.deep.equal([]);
  });

  it('prettier finds every source file formatted', async () => {
    const unformatted: string[] = [];
    let checked = 0;
    for (const file of await projectFiles()) {
      const path = join(REPO, file);
      const info = await prettier.getFileInfo(path, { ignorePath: join(REPO, '.prettierignore') });
      if (info.ignored || !info.inferredParser) continue;
      const options = await prettier.resolveConfig(path);
      checked++;
      if (!(await prettier.check(readFileSync(path, 'utf8'), { ...options, filepath: path }))) unformatted.push(file);
    }
    expect(checked, 'files checked').to.be.greaterThan(100);
    expect(unformatted, 'run `npm run format`').to.deep.equal([]);
  });

  it('the layering rules bite: a concrete runner imported from src/, oclif outside src/cli or by its index, a process library in the core', async () => {
    const eslint = new ESLint({ cwd: REPO });
    const cases = [
      { file: 'src/app/probe.ts', code: "import { DockerRunner } from '../../runners/docker.js';\nexport const r = DockerRunner;\n", rule: 'no-restricted-imports' },
      { file: 'src/app/probe.ts', code: "import { Command } from '@oclif/core/command';\nexport const c = Command;\n", rule: 'no-restricted-imports' },
      { file: 'src/params/probe.ts', code: "import { execa } from 'execa';\nexport const e = execa;\n", rule: 'no-restricted-imports' },
      { file: 'src/cli/probe.ts', code: "import { Command } from '@oclif/core';\nexport const c = Command;\n", rule: 'no-restricted-imports' },
      { file: 'src/plan/probe.ts', code: "import { dockerConfig } from '../../runners/docker-config.js';\nexport const d = dockerConfig;\n", rule: 'no-restricted-imports' },
      { file: 'src/app/probe.ts', code: "import { RUNNERS } from '../../runners/index.js';\nexport const f = RUNNERS;\n", rule: null },
      { file: 'src/cli/probe.ts', code: "import { Command } from '@oclif/core/command';\nexport const c = Command;\n", rule: null },
    ];
    for (const c of cases) {
      const [r] = await eslint.lintText(c.code, { filePath: join(REPO, c.file) });
      const rules = r.messages.map((m) => m.ruleId);
      if (c.rule) expect(rules, c.code).to.include(c.rule);
      else expect(rules, c.code).to.deep.equal([]);
    }
  });
});
