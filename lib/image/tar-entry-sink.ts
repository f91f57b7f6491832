/**
 * Writing one entry of a tar-stream pack when the pack's reader may go away
 * at any moment (a pipeline whose destination failed, a layer the unpacker
 * refused): the entry is destroyed with the pack, and neither its 'error'
 * event nor a wait for its 'drain' may outlive that.
 */
import type { Pack } from 'tar-stream';

/** The writable side of one entry, as `pack.entry()` returns it. */
export type EntrySink = ReturnType<Pack['entry']>;

/**
 * `sink`, its 'error' event listened to: its failure reaches the entry's
 * callback, and when the pack is destroyed with an error, tar-stream destroys
 * the entry being written with it, whose 'error' with no listener would be an
 * uncaught exception in the caller's process.
 */
export function quietEntry<T extends EntrySink>(sink: T): T {
  sink.on('error', () => {});
  return sink;
}

/** Waits until the entry can take more, or is destroyed (the reader went away). */
export function drainedOrClosed(sink: EntrySink): Promise<void> {
  // destroyed already: its 'close' came, and waiting for it would hold the files being read forever
  if (sink.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const go = () => {
      sink.off('drain', go);
      sink.off('close', go);
      resolve();
    };
    sink.on('drain', go);
    sink.on('close', go);
  });
}
