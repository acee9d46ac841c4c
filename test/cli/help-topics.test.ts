import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mlcube, REPO } from '../helpers/cli.js';
import { COMMANDS } from '../../src/cli/commands/index.js';

/** The text of one help section (`TOPICS`, `COMMANDS`), whitespace collapsed: oclif wraps to the terminal's width. */
const section = (help: string, name: string) => (help.split(`\n${name}\n`)[1] ?? '').split(/\n(?=[A-Z]+\n)/)[0].replace(/\s+/g, ' ');

describe('help: topics (runs, provenance, keys) have their own descriptions', () => {
  const topics: Record<string, { description: string }> = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).oclif.topics;
  const subCommands = (topic: string) => Object.entries(COMMANDS).filter(([id]) => id.startsWith(`${topic}:`));

  it('every topic of the command table has a description in package.json, and none is one of its sub-commands', () => {
    const used = [...new Set(Object.keys(COMMANDS).flatMap((id) => (id.includes(':') ? [id.split(':')[0]] : [])))].sort();
    expect(Object.keys(topics).sort()).to.deep.equal(used);
    for (const t of used) for (const [id, c] of subCommands(t)) expect(topics[t].description, `${t} vs ${id}`).to.not.equal(c.summary);
  });

  it('`mlcube --help` lists each topic with its own description', async () => {
    const h = await mlcube(['--help']);
    expect(h.exitCode, h.stderr).to.equal(0);
    const listed = section(h.stdout, 'TOPICS');
    for (const [t, { description }] of Object.entries(topics)) {
      expect(listed).to.contain(`${t} ${description.replace(/\s+/g, ' ')}`);
      // What oclif showed before topics were described: the summary of one sub-command.
      for (const [, c] of subCommands(t)) expect(listed).to.not.contain(`${t} ${c.summary}`);
    }
  });

  for (const topic of ['runs', 'provenance', 'keys']) {
    it(`\`mlcube ${topic} --help\` lists its sub-commands`, async () => {
      const h = await mlcube([topic, '--help']);
      expect(h.exitCode, h.stderr).to.equal(0);
      const listed = section(h.stdout, 'COMMANDS');
      for (const [id, c] of subCommands(topic)) expect(listed).to.contain(`${id.replace(':', ' ')} ${c.summary!.split(' ').slice(0, 4).join(' ')}`);
    });
  }
});
