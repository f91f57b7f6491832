/** Image references, normalised as Docker does. */

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const DOMAIN = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?';
const REFERENCE = new RegExp(`^(?:(${DOMAIN})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$`);

/** A parsed, normalised image reference. */
export interface ImageReference {
  /** `docker.io`, `localhost`, `127.0.0.1:5000`, … */
  domain: string;
  /** `library/alpine`, `ns/app` */
  path: string;
  /** The tag; `latest` when neither tag nor digest was given. */
  tag: string | undefined;
  /** `sha256:…` when pinned. */
  digest: string | undefined;
  /** The full normalised form, e.g. `docker.io/library/alpine:latest`. */
  canonical: string;
}

/**
 * Parses `alpine`, `alpine:3`, `localhost/busybox`, `host:5000/ns/name:tag@sha256:…`
 * with Docker's rules: a first component with a `.` or `:`, or `localhost`, is a
 * registry; otherwise the image is on `docker.io`, under `library/` when it has
 * one path component.
 * @throws TypeError naming what is wrong.
 */
export function parseReference(reference: string): ImageReference {
  if (typeof reference !== 'string' || reference.length === 0) throw new TypeError('an image reference must be a non-empty string');
  if (reference.length > 255 + 128 + 72) throw new TypeError(`image reference is too long: '${reference.slice(0, 40)}…'`);
  const firstSlash = reference.indexOf('/');
  const first = firstSlash < 0 ? '' : reference.slice(0, firstSlash);
  const hasDomain = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase());
  const match = REFERENCE.exec(hasDomain ? reference : `docker.io/${reference}`);
  if (!match) {
    throw new TypeError(
      `'${reference}' is not a valid image reference: expected [registry/]name[:tag][@sha256:digest], with a lower-case name`,
    );
  }
  const domain = match[1]!;
  let path = match[2]!;
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  const digest = match[4];
  const tag = match[3] ?? (digest ? undefined : 'latest');
  const canonical = `${domain}/${path}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  return { domain, path, tag, digest, canonical };
}
