/** The parts of an OCI image configuration that become a container's defaults. */
export interface ImageConfig {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

/** An image as the local store records it. */
export interface ImageRecord {
  /** `sha256:` + hex of the image configuration. */
  id: string;
  /** References that name it, normalised (`localhost/busybox:latest`). */
  references: string[];
  /** Layer ids, bottom-most first (OCI order). */
  layers: string[];
  config: ImageConfig;
  createdAt: string;
}
