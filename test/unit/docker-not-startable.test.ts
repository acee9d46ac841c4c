import { expect } from 'chai';
import { notStartable } from '../../runners/docker.js';

// What the Engine (or the container's init) says when the task's program cannot be executed, and what is not that.
describe('docker: a container whose program cannot be executed is MLCUBE_TASK_NOT_STARTED (exit 6), nothing else is', () => {
  const cases: { name: string; error: unknown; expect: RegExp | null }[] = [
    {
      name: 'runc: executable not in $PATH (HTTP 400)',
      error: {
        statusCode: 400,
        json: {
          message:
            'failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "train": executable file not found in $PATH: unknown',
        },
      },
      expect: /could not start: "train": executable file not found in \$PATH in the image img:1/,
    },
    {
      name: 'runc: not executable (HTTP 400)',
      error: { statusCode: 400, message: '(HTTP code 400) unexpected - ... exec: "/app/run.sh": permission denied: unknown' },
      expect: /"\/app\/run.sh": permission denied/,
    },
    { name: 'another 400 (a bad mount) is not this', error: { statusCode: 400, message: 'invalid mount config for type "bind": bind source path does not exist' }, expect: null },
    { name: 'a 500 naming exec is not this', error: { statusCode: 500, message: 'exec: "x": executable file not found in $PATH' }, expect: null },
    { name: 'a plain Error is not this', error: new Error('socket hang up'), expect: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const e = notStartable(c.error, 'train', 'img:1');
      if (!c.expect) return expect(e).to.equal(undefined);
      expect(e?.exitCode).to.equal(6);
      expect(e?.code).to.equal('MLCUBE_TASK_NOT_STARTED');
      expect(e?.message).to.match(c.expect);
      expect(e?.render()).to.contain('task "train"').and.contain('fix: ');
    });
  }
});
