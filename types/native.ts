/** The typed interface of the N-API module built from addon/native_module.cc. */
export interface NativeAddon {
  /** flock(2) on the thread pool: resolves once the lock is held. */
  lock(fd: number, exclusive: boolean): Promise<void>;
  /** flock(2) without waiting: false when someone else holds the lock. */
  tryLock(fd: number, exclusive: boolean): boolean;
}
