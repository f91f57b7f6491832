/**
 * Which extended attributes of an image reach the host's disk (in a layer
 * directory, or a volume filled from the image).
 *
 * Kept: `user.*` (the image's own metadata) but `user.overlay.*` (a rootless
 * overlay, mounted with `userxattr`, reads those as instructions, as root's
 * reads `trusted.overlay.*`), and `security.capability` (file
 * capabilities: `ping` in many images has `cap_net_raw+ep`; Docker keeps
 * them). Dropped, silently: `trusted.*` (overlayfs reads `trusted.overlay.*`
 * as instructions: redirects, metacopy, opaque), `security.*` other than
 * capabilities (SELinux labels, IMA/EVM signatures are the host's to set),
 * `system.*` (ACLs name host users) and anything else.
 *
 * A capability is kept only in a form the kernel accepts from the host's
 * root: revision 1 or 2 as given; revision 3 (namespaced, with a root uid)
 * with root uid 0 becomes revision 2, which is what the kernel stores for it;
 * revision 3 with another root uid is dropped, because it grants nothing
 * outside a user namespace that maps that uid to root, and berth's
 * containers run in the host's user namespace.
 */

const CAP_REVISION_MASK = 0xff000000;
const CAP_REVISION_1 = 0x01000000;
const CAP_REVISION_2 = 0x02000000;
const CAP_REVISION_3 = 0x03000000;
/** struct vfs_cap_data sizes by revision. */
const CAP_SIZE: Record<number, number> = { [CAP_REVISION_1]: 12, [CAP_REVISION_2]: 20, [CAP_REVISION_3]: 24 };

/** The value to write for `security.capability`, or undefined to drop it. */
export function capabilityValue(value: Buffer): Buffer | undefined {
  if (value.length < 4) return undefined;
  const magic = value.readUInt32LE(0);
  const revision = (magic & CAP_REVISION_MASK) >>> 0;
  if (CAP_SIZE[revision] !== value.length) return undefined;
  if (revision !== CAP_REVISION_3) return value;
  if (value.readUInt32LE(20) !== 0) return undefined;
  const v2 = Buffer.from(value.subarray(0, 20));
  v2.writeUInt32LE(((magic & ~CAP_REVISION_MASK) | CAP_REVISION_2) >>> 0, 0);
  return v2;
}

/** The value to write for the image's attribute `name`, or undefined when the policy drops it. */
export function allowedXattr(name: string, value: Buffer): Buffer | undefined {
  if (name.startsWith('user.overlay.')) return undefined;
  if (name.startsWith('user.') && name.length > 'user.'.length) return value;
  if (name === 'security.capability') return capabilityValue(value);
  return undefined;
}
