import { expect } from 'chai';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { REPO } from '../helpers/cli.js';

describe('architecture rules (design.md §2; the import layering rules are lint rules: eslint.config.js)', () => {
  it('no runner client or card renderer loads at start: dockerode, tar, vega, vega-lite and resvg are outside what the CLI entry points import statically (the Docker runner imports them)', () => {
    // Static value imports, followed from the entry points through our own modules; import() and `import type` are not followed.
    const valueImports = (f: string) => [...readFileSync(f, 'utf8').matchAll(/^(?:import|export)\s(?!type\s)[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
    const loaded = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (loaded.has(file)) return;
      loaded.add(file);
      for (const i of valueImports(file)) {
        if (i.startsWith('.')) visit(join(dirname(file), i.replace(/\.js$/, '.ts')));
        else packages.add(i);
      }
    };
    for (const entry of ['launcher.ts', 'main.ts', 'run-main.ts']) visit(join(REPO, 'src', 'cli', entry));
    expect([...loaded].map((f) => relative(REPO, f))).to.include.members(['runners/index.ts', 'runners/docker-config.ts', 'src/cli/commands/run.ts']);
    expect([...packages].filter((p) => p === 'dockerode' || p === 'tar')).to.deep.equal([]);
    // The model card's renderers (resvg is a native module) load only when `mlcube card` draws a plot.
    expect([...packages].filter((p) => ['vega', 'vega-lite', '@resvg/resvg-js'].includes(p))).to.deep.equal([]);
    expect(valueImports(join(REPO, 'src', 'card', 'render.ts'))).to.deep.equal(['node:module', 'node:path']);
    // The control: the Docker runner's module does import dockerode (so the walk above can find it).
    expect(valueImports(join(REPO, 'runners', 'docker.ts'))).to.include('dockerode');
  });
});

describe('build output', () => {
  it('the precompiled schema validators (#validators) cover every schema (no ajv compile at start-up)', async () => {
    const { SCHEMA_FILES } = await import('../../src/config/schemas.js');
    const mod = (await import('#validators')).default;
    for (const f of SCHEMA_FILES) expect(typeof mod[f.replace(/[^A-Za-z0-9]/g, '_')], f).to.equal('function');
    expect(mod.metric_row_schema_json({ name: '', value: 1 })).to.equal(false);
  });

  it('the bin (package.json "bin") is a Node.js script, as npm\'s shims for Windows need (they read its #! line)', () => {
    const bin = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).bin.mlcube;
    expect(readFileSync(join(REPO, bin), 'utf8').split('\n')[0]).to.equal('#!/usr/bin/env node');
    expect(statSync(join(REPO, bin)).mode & 0o111, 'executable').to.not.equal(0);
  });

  it('oclif.manifest.json describes the commands of the built CLI (oclif trusts it for flags, help and the command list)', async () => {
    const { computeOclifManifest, OCLIF_MANIFEST } = await import('../../src/cli/oclif-manifest.js');
    const onDisk = JSON.parse(readFileSync(join(REPO, OCLIF_MANIFEST), 'utf8'));
    expect(Object.keys(onDisk.commands)).to.include.members(['run', 'show_config', 'configure']);
    expect(onDisk).to.deep.equal(JSON.parse(JSON.stringify(await computeOclifManifest(REPO))));
  });
});
