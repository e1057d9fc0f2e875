/** A long-running part of the daemon (lib/daemon/command.ts starts and closes them in order). */
export interface Service {
  name: string;
  /** Stops serving and flushes state; resolves when done. */
  close(): Promise<void>;
}
