import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mlcube, snapshot, tempDir, type CliResult } from '../helpers/cli.js';

/** `mlcube encrypt` / `mlcube decrypt` through the installed binary (README "Encrypted files"). */
describe('mlcube encrypt / decrypt', () => {
  let t: { dir: string; cleanup: () => void };
  const p = (...s: string[]) => join(t.dir, ...s);
  const noStack = (r: CliResult) => expect(r.stderr, 'no stack trace for a user error').to.not.match(/\n\s+at .*\.(c?js|ts):\d+/);
  before(() => {
    t = tempDir('mlcube-encrypt-cli-');
    writeFileSync(p('key'), randomBytes(32));
    writeFileSync(p('other.key'), randomBytes(32));
    writeFileSync(p('plain.bin'), randomBytes(300_000));
    mkdirSync(p('data', 'nested', 'deeper'), { recursive: true });
    mkdirSync(p('data', 'empty'));
    writeFileSync(p('data', 'nested', 'deeper', 'x.csv'), 'a,b\n1,2\n');
    writeFileSync(p('data', 'top.bin'), randomBytes(70_000));
  });
  after(() => t.cleanup());

  it('a file round-trips; --json prints one document naming kind, key fingerprint and the ciphertext digest', async () => {
    const e = await mlcube(['encrypt', `--key-file=${p('key')}`, p('plain.bin'), p('plain.enc'), '--json']);
    expect(e.exitCode, e.stderr).to.equal(0);
    const doc = JSON.parse(e.stdout);
    expect(Object.keys(doc).sort()).to.deep.equal(['ciphertext_sha256', 'dst', 'key_fingerprint', 'key_mode', 'kind', 'src']);
    expect([doc.kind, doc.key_mode, doc.dst]).to.deep.equal(['file', 'key_file', p('plain.enc')]);
    const { createHash } = await import('node:crypto');
    expect(doc.ciphertext_sha256).to.equal(
      createHash('sha256')
        .update(readFileSync(p('plain.enc')))
        .digest('hex'),
    );
    const d = await mlcube(['decrypt', `--key-file=${p('key')}`, p('plain.enc'), p('plain.out')]);
    expect(d.exitCode, d.stderr).to.equal(0);
    expect(d.stdout).to.contain(`decrypted ${p('plain.enc')} -> file ${p('plain.out')} (key fingerprint ${doc.key_fingerprint})`);
    expect(readFileSync(p('plain.out'))).to.deep.equal(readFileSync(p('plain.bin')));
  });

  it('a directory round-trips (relative paths from the current directory), and a hex key is the same key as its raw bytes', async () => {
    writeFileSync(p('key.hex'), readFileSync(p('key')).toString('hex') + '\n');
    const e = await mlcube(['encrypt', '--key-file=key.hex', 'data', 'data.enc'], { cwd: t.dir });
    expect(e.exitCode, e.stderr).to.equal(0);
    const d = await mlcube(['decrypt', '--key-file=key', 'data.enc', 'data.out', '--json'], { cwd: t.dir });
    expect(d.exitCode, d.stderr).to.equal(0);
    expect(JSON.parse(d.stdout)).to.include({ kind: 'directory', files: 2, directories: 3 });
    expect(snapshot(p('data.out')).map((l) => l.split(' ')[0])).to.deep.equal(snapshot(p('data')).map((l) => l.split(' ')[0]));
    expect(readFileSync(p('data.out', 'nested', 'deeper', 'x.csv'), 'utf8')).to.equal('a,b\n1,2\n');
  });

  it('a tampered file: exit 5, the chunk named, nothing at DST or beside it', async () => {
    const b = readFileSync(p('plain.enc'));
    b[64 + 65552 + 10] ^= 0x40; // a byte of chunk 1
    writeFileSync(p('tampered.enc'), b);
    const before = snapshot(t.dir);
    const d = await mlcube(['decrypt', `--key-file=${p('key')}`, p('tampered.enc'), p('tampered.out')]);
    expect(d.exitCode).to.equal(5);
    expect(d.stderr).to.contain(`mlcube error: MLCUBE_DECRYPT_FAILED: ${p('tampered.enc')}: chunk 1 (bytes 65616-131167) does not authenticate`);
    expect(d.stderr).to.contain('fix: ');
    noStack(d);
    expect(snapshot(t.dir)).to.deep.equal(before);
  });

  it('a truncated directory: exit 5, nothing at DST', async () => {
    const b = readFileSync(p('data.enc'));
    writeFileSync(p('cut.enc'), b.subarray(0, 64 + 65552));
    const before = snapshot(t.dir);
    const d = await mlcube(['decrypt', `--key-file=${p('key')}`, p('cut.enc'), p('cut.out'), '--json']);
    expect(d.exitCode).to.equal(5);
    expect(JSON.parse(d.stdout).error).to.include({ code: 'MLCUBE_DECRYPT_FAILED', exit_code: 5, file: p('cut.enc') });
    expect(d.stderr).to.contain('without its last chunk: it was truncated');
    expect(snapshot(t.dir)).to.deep.equal(before);
  });

  it('a wrong key: exit 5, both fingerprints named', async () => {
    const d = await mlcube(['decrypt', `--key-file=${p('other.key')}`, p('plain.enc'), p('never')]);
    expect(d.exitCode).to.equal(5);
    expect(d.stderr).to.match(/it was sealed for the key of fingerprint [0-9a-f]{32}; --key-file=\S+other\.key has fingerprint [0-9a-f]{32}/);
    expect(readdirSync(t.dir)).to.not.include('never');
  });

  const usage: [string, (d: string) => string[], RegExp][] = [
    [
      'a key of the wrong shape',
      (d) => ['encrypt', `--key-file=${join(d, 'plain.bin')}`, join(d, 'plain.bin'), join(d, 'x.enc')],
      /the key file \S+plain\.bin holds 300000 bytes that are neither 32 raw bytes nor 64 hex digits\n {2}fix: A key is 32 raw bytes/,
    ],
    ['a missing key file', (d) => ['decrypt', `--key-file=${join(d, 'nokey')}`, join(d, 'plain.enc'), join(d, 'x')], /cannot read the key file \S+nokey \(ENOENT\)/],
    ['no key at all', (d) => ['encrypt', join(d, 'plain.bin'), join(d, 'x.enc')], /mlcube encrypt needs --key-file or --recipient/],
    ['a key and a recipient', (d) => ['encrypt', `--key-file=${join(d, 'key')}`, `--recipient=${join(d, 'key')}`, join(d, 'plain.bin'), join(d, 'x.enc')], /--key-file and --recipient are exclusive/],
    ['an existing destination', (d) => ['encrypt', `--key-file=${join(d, 'key')}`, join(d, 'plain.bin'), join(d, 'plain.enc')], /the destination \S+plain\.enc exists\n {2}fix: Pass --force/],
    ['an existing decrypt destination', (d) => ['decrypt', `--key-file=${join(d, 'key')}`, join(d, 'plain.enc'), join(d, 'data')], /the destination \S+data exists/],
    ['a missing source', (d) => ['encrypt', `--key-file=${join(d, 'key')}`, join(d, 'nothing'), join(d, 'x.enc')], /nothing does not exist/],
  ];
  for (const [name, args, message] of usage)
    it(`${name}: exit 2, nothing changed`, async () => {
      const before = snapshot(t.dir);
      const r = await mlcube(args(t.dir));
      expect(r.exitCode, r.stderr).to.equal(2);
      expect(r.stderr).to.match(message);
      noStack(r);
      expect(snapshot(t.dir)).to.deep.equal(before);
    });

  it('--force replaces an existing destination', async () => {
    writeFileSync(p('small'), 'new content');
    const e = await mlcube(['encrypt', `--key-file=${p('key')}`, p('small'), p('plain.out'), '--force']);
    expect(e.exitCode, e.stderr).to.equal(0);
    const d = await mlcube(['decrypt', `--key-file=${p('key')}`, p('plain.out'), p('data.out'), '--force']);
    expect(d.exitCode, d.stderr).to.equal(0);
    expect(readFileSync(p('data.out'), 'utf8')).to.equal('new content');
  });

  it('to a recipient: keys generate --kind=x25519, encrypt --recipient, decrypt --identity; another identity gets exit 5', async () => {
    const k = await mlcube(['keys', 'generate', '--kind=x25519', `--dir=${p('consumer')}`, '--json']);
    expect(k.exitCode, k.stderr).to.equal(0);
    const keys = JSON.parse(k.stdout);
    expect(keys).to.include({ kind: 'x25519', private_key: p('consumer', 'identity.key'), public_key: p('consumer', 'recipient.pub') });
    expect(readFileSync(keys.private_key, 'utf8')).to.contain('BEGIN PRIVATE KEY');
    expect((await mlcube(['keys', 'generate', '--kind=x25519', `--dir=${p('stranger')}`])).exitCode).to.equal(0);
    const e = await mlcube(['encrypt', `--recipient=${keys.public_key}`, p('data'), p('sealed.enc'), '--json']);
    expect(e.exitCode, e.stderr).to.equal(0);
    expect(JSON.parse(e.stdout)).to.include({ key_mode: 'x25519', key_fingerprint: keys.keyid });
    const d = await mlcube(['decrypt', `--identity=${keys.private_key}`, p('sealed.enc'), p('sealed.out')]);
    expect(d.exitCode, d.stderr).to.equal(0);
    expect(readFileSync(p('sealed.out', 'top.bin'))).to.deep.equal(readFileSync(p('data', 'top.bin')));
    const w = await mlcube(['decrypt', `--identity=${p('stranger', 'identity.key')}`, p('sealed.enc'), p('stranger.out')]);
    expect(w.exitCode).to.equal(5);
    expect(w.stderr).to.contain(`it was sealed for the key of fingerprint ${keys.keyid}`);
    const s = await mlcube(['decrypt', `--identity=${keys.public_key}`, p('sealed.enc'), p('x')]);
    // A public key where the private one is due: a usage error naming the file.
    expect(s.exitCode).to.equal(2);
    expect(s.stderr).to.contain(`cannot read the X25519 private key ${keys.public_key}`);
  });
});
