import { expect } from 'chai';
import { dockerfileBases } from '../../runners/docker-from.js';

// The base images a build needs, read from the Dockerfile as docker build reads its FROM lines.
describe('docker: the base images of a Dockerfile (FROM, with build args)', () => {
  const cases: { name: string; dockerfile: string; args?: Record<string, string>; expect: { image: string; line: number; arg?: string }[] }[] = [
    { name: 'a plain FROM', dockerfile: 'FROM debian:bookworm\nRUN true\n', expect: [{ image: 'debian:bookworm', line: 1 }] },
    { name: 'a lower-case from after comments', dockerfile: '# c\n\nfrom node:20\n', expect: [{ image: 'node:20', line: 3 }] },
    { name: "an ARG's default", dockerfile: '# c\nARG BASE=mlcube/node-base:20\nFROM ${BASE}\n', expect: [{ image: 'mlcube/node-base:20', line: 3, arg: 'BASE' }] },
    { name: 'a build arg overrides the default', dockerfile: 'ARG BASE=a:1\nFROM $BASE\n', args: { BASE: 'b:2' }, expect: [{ image: 'b:2', line: 2, arg: 'BASE' }] },
    { name: 'a quoted default', dockerfile: 'ARG BASE="a:1"\nFROM ${BASE}\n', expect: [{ image: 'a:1', line: 2, arg: 'BASE' }] },
    { name: 'a build arg for an undeclared ARG is not used', dockerfile: 'FROM ${BASE:-fallback:1}\n', args: { BASE: 'b:2' }, expect: [{ image: 'fallback:1', line: 1, arg: 'BASE' }] },
    { name: 'part of the name from an ARG', dockerfile: 'ARG V=20\nFROM node:${V}-slim\n', expect: [{ image: 'node:20-slim', line: 2 }] },
    {
      name: 'an ARG after the first FROM does not apply to FROM',
      dockerfile: 'FROM a:1\nARG B=x:1\nFROM ${B:-y:1}\n',
      expect: [
        { image: 'a:1', line: 1 },
        { image: 'y:1', line: 3, arg: 'B' },
      ],
    },
    {
      name: 'stages built on an earlier stage and scratch are left out',
      dockerfile: 'FROM --platform=linux/amd64 golang:1 AS build\nRUN make\nFROM build AS test\nFROM scratch\nCOPY --from=build /x /x\nFROM Build\n',
      expect: [{ image: 'golang:1', line: 1 }],
    },
    { name: 'a FROM continued on the next line', dockerfile: 'ARG B=a:1\nFROM \\\n  ${B} AS x\nFROM x\n', expect: [{ image: 'a:1', line: 2, arg: 'B' }] },
    { name: 'no FROM', dockerfile: '# nothing\n', expect: [] },
  ];
  for (const c of cases) it(c.name, () => expect(dockerfileBases(c.dockerfile, c.args ?? {})).to.deep.equal(c.expect));
});
