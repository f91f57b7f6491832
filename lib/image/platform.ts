/** Platforms (`linux/amd64`, `linux/arm64/v8`): the host's, parsing, and choosing from an index. */
import type { Descriptor, OciImageConfig, Platform } from '../../types/image.js';

const NODE_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips64el: 'mips64le',
};

/** The platform of this host, in OCI's names. */
export function hostPlatform(): Platform {
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  if (architecture === 'arm64') return { os: 'linux', architecture, variant: 'v8' };
  if (architecture === 'arm') {
    const version = (process.config.variables as { arm_version?: string }).arm_version ?? '7';
    return { os: 'linux', architecture, variant: `v${version}` };
  }
  return { os: 'linux', architecture };
}

/**
 * `linux/arm64/v8`, `linux/amd64`, `arm64` (os linux) or a `Platform`.
 * @throws TypeError naming the input.
 */
export function parsePlatform(value: string | Platform): Platform {
  if (typeof value === 'object' && value !== null) {
    if (typeof value.os !== 'string' || typeof value.architecture !== 'string' || !value.os || !value.architecture) {
      throw new TypeError('platform must have non-empty os and architecture strings');
    }
    return value;
  }
  if (typeof value !== 'string' || !/^[a-z0-9_.-]+(\/[a-z0-9_.-]+){0,2}$/.test(value)) {
    throw new TypeError(`platform '${String(value)}' must look like os/arch[/variant], e.g. linux/arm64/v8`);
  }
  const parts = value.split('/');
  const [os, architecture, variant] = parts.length === 1 ? ['linux', parts[0]!] : parts;
  const platform: Platform = { os: os!, architecture: normalizeArch(architecture!) };
  if (variant) platform.variant = variant;
  return platform;
}

function normalizeArch(architecture: string): string {
  return ({ x86_64: 'amd64', x86: '386', aarch64: 'arm64', armhf: 'arm', armel: 'arm' } as Record<string, string>)[architecture] ?? architecture;
}

/** `linux/arm64/v8` */
export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/** arm64's variant defaults to v8; others have none unless given. */
function variantOf(platform: Platform): string | undefined {
  return platform.variant || (platform.architecture === 'arm64' ? 'v8' : undefined);
}

/**
 * The manifest of an index that fits `wanted`: same os and architecture, and the
 * same variant when one is wanted (an entry without a variant fits any). An exact
 * variant match wins. Attestation manifests (`unknown/unknown`) never fit.
 */
export function selectPlatform(manifests: readonly Descriptor[], wanted: Platform): Descriptor | undefined {
  const candidates = manifests.filter(
    (m) => m.platform && m.platform.os === wanted.os && normalizeArch(m.platform.architecture) === wanted.architecture,
  );
  const wantedVariant = variantOf(wanted);
  const exact = candidates.find((m) => variantOf(m.platform!) === wantedVariant);
  if (exact) return exact;
  return candidates.find((m) => !m.platform!.variant) ?? (wanted.variant ? undefined : candidates[0]);
}

/** The platform fields of an image config. */
export function platformFields(platform: Platform): Pick<OciImageConfig, 'os' | 'architecture' | 'variant'> {
  return { architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}) };
}
