import { expect } from 'chai';
import { copyFixture, mlcube } from '../helpers/cli.js';

// `env_args` and `build_args` are open maps: `-P` adds a key there as the Python MLCube does (issue #15).
describe('-P into open maps (docker.env_args, docker.build_args)', () => {
  const cases = [
    { flag: '-Pdocker.env_args.API_TOKEN=abc', section: 'env_args', key: 'API_TOKEN', value: 'abc' },
    { flag: '-Pdocker.build_args.EXTRA_PKGS=numpy', section: 'build_args', key: 'EXTRA_PKGS', value: 'numpy' },
  ];
  for (const c of cases) {
    it(`${c.flag} adds the key to the effective ${c.section}`, async () => {
      const cube = copyFixture('basic');
      try {
        const r = await mlcube(['show_config', `--mlcube=${cube.dir}`, '--platform=docker', c.flag, '--json']);
        expect(r.exitCode, r.stderr).to.equal(0);
        const section = JSON.parse(r.stdout).runner[c.section];
        // show_config prints these maps as Python does; either form must carry the new key and value.
        if (typeof section === 'string') expect(section).to.contain(`${c.key}=${c.value}`);
        else expect(section[c.key]).to.equal(c.value);
      } finally {
        cube.cleanup();
      }
    });
  }
});
