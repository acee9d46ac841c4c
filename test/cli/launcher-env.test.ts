import { expect } from 'chai';
import { execa } from 'execa';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { BIN, CLI, FIXTURES, mlcube, tempDir } from '../helpers/cli.js';

/**
 * The `mlcube` bin starts Node.js without NODE_EXTRA_CA_CERTS (Node 20 parses that file at every start) and puts
 * it back for everything mlcube starts; mlcube's own TLS client (dockerode over https) still trusts those CAs.
 */
describe('the mlcube bin and NODE_EXTRA_CA_CERTS', function () {
  this.timeout(60_000);
  const missingCa = '/nonexistent/extra-ca.pem';
  // What Node.js prints at start when it loads a NODE_EXTRA_CA_CERTS file it cannot read.
  const loadWarning = `Ignoring extra certs from \`${missingCa}\``;

  function envCube(dir: string): string {
    writeFileSync(join(dir, 'task.sh'), 'out=${2#--out=}\nprintf "%s|%s" "${NODE_EXTRA_CA_CERTS-unset}" "${MLCUBE_NODE_EXTRA_CA_CERTS-unset}" > "$out"\n');
    writeFileSync(join(dir, 'mlcube.yaml'), 'name: env\nlocal:\n  command: sh task.sh\ntasks:\n  env:\n    parameters:\n      outputs:\n        out: {type: file, default: env.txt}\n');
    mkdirSync(join(dir, 'workspace'));
    return dir;
  }

  it('mlcube\'s own process does not load it, and the task gets it back unchanged (and nothing else)', async () => {
    const t = tempDir();
    try {
      const cube = envCube(t.dir);
      const r = await mlcube(['run', `--mlcube=${cube}`, '--platform=local', '--task=env'], { env: { NODE_EXTRA_CA_CERTS: missingCa } });
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stderr).not.to.contain(loadWarning);
      expect(readFileSync(join(cube, 'workspace', 'env.txt'), 'utf8')).to.equal(`${missingCa}|unset`);

      // Control: started as `node dist/mlcube.cjs`, Node loads it (the warning shows the check above can fail).
      const direct = await execa('node', [CLI, 'run', `--mlcube=${cube}`, '--platform=local', '--task=env'], { reject: false, env: { NODE_EXTRA_CA_CERTS: missingCa, MLCUBE_SYSTEM_SETTINGS: '/nonexistent/s.yaml' } });
      expect(direct.exitCode, direct.stderr).to.equal(0);
      expect(direct.stderr).to.contain(loadWarning);
    } finally {
      t.cleanup();
    }
  });

  it('an unset variable stays unset for the task', async () => {
    const t = tempDir();
    try {
      const cube = envCube(t.dir);
      const env = { ...process.env };
      delete env.NODE_EXTRA_CA_CERTS;
      const r = await execa(BIN, ['run', `--mlcube=${cube}`, '--platform=local', '--task=env'], { reject: false, extendEnv: false, env: { ...env, MLCUBE_SYSTEM_SETTINGS: '/nonexistent/s.yaml' } });
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(readFileSync(join(cube, 'workspace', 'env.txt'), 'utf8')).to.equal('unset|unset');
    } finally {
      t.cleanup();
    }
  });

  describe('a Docker daemon over https whose CA is given only by NODE_EXTRA_CA_CERTS', () => {
    const tls = join(FIXTURES, 'tls');
    const digest = `sha256:${'d'.repeat(64)}`;
    let server: Server;
    let port: number;

    before(async () => {
      server = createServer({ key: readFileSync(join(tls, 'server.key')), cert: readFileSync(join(tls, 'server.pem')) }, (req, res) => {
        const path = (req.url ?? '').replace(/^\/v[\d.]+/, '').split('?')[0];
        if (path === '/_ping') return void res.end('OK');
        if (path === '/version') {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          return void res.end(JSON.stringify({ Version: '0-fake', ApiVersion: '1.41' }));
        }
        if (req.method === 'GET' && path === '/images/mlcube-test/basic:0.0.1/json') {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          return void res.end(JSON.stringify({ Id: digest, RepoDigests: [] }));
        }
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message: `not faked: ${req.method} ${path}` }));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    const inspect = (extra: Record<string, string>) =>
      mlcube(['inspect', `--mlcube=${join(FIXTURES, 'cubes', 'basic')}`, '--platform=docker', '--format=json'], {
        env: { DOCKER_HOST: `tcp://localhost:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '', ...extra },
      });

    it('is trusted, as Node.js would trust it had it loaded the variable', async () => {
      const r = await inspect({ NODE_EXTRA_CA_CERTS: join(tls, 'ca.pem') });
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout).digest).to.equal(digest);
    });

    it('is refused without it (the certificate check is on)', async () => {
      const r = await inspect({ NODE_EXTRA_CA_CERTS: '' });
      expect(r.exitCode).not.to.equal(0);
      expect(r.stderr).to.match(/certificate/i);
    });
  });
});
