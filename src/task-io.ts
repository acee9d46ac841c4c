/** Pipes a child's output into a stream we do not own (never ended here: TaskIo's streams are the recorder's); settles once the output has ended. */
export function pipeInto(from: NodeJS.ReadableStream, to: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    from.pipe(to, { end: false });
    from.once('end', resolve);
    from.once('close', resolve);
    from.once('error', () => resolve());
  });
}
