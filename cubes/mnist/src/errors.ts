/** What a one-line cube error says: where, what was found, what was expected, and what to do. */
export interface ErrorFacts {
  /** File, key, URI or parameter the error is about. */
  place: string;
  /** What went wrong, in a few words. */
  problem: string;
  found?: string;
  expected?: string;
  fix?: string;
}

/** The only error the cube reports to the user: its message is a single line built from {@link ErrorFacts}. */
export class CubeError extends Error {
  readonly facts: ErrorFacts;
  constructor(facts: ErrorFacts, options?: { cause?: unknown }) {
    const parts = [`${facts.place}: ${facts.problem}`];
    if (facts.found !== undefined) parts.push(`found ${facts.found}`);
    if (facts.expected !== undefined) parts.push(`expected ${facts.expected}`);
    let message = parts.join('; ');
    if (facts.fix) message += `. Fix: ${facts.fix}`;
    super(message.replace(/\s*\n\s*/g, ' '), options);
    this.name = 'CubeError';
    this.facts = facts;
  }
}

/** Short printable form of a value for error messages. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  const s = JSON.stringify(value);
  return s === undefined ? String(value) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
