/**
 * The form in which berth hands plain values to its native processes: the
 * monitor's spec pipe (its fd 4, addon/spec.cc) and berth-exec's
 * control socket (addon/exec_spec.cc). Each value is a record
 *
 * ```
 * <key> ":" <length> ":" <value> "\n"
 * ```
 *
 * where `key` is 1-32 of `a-z0-9-` starting with a letter and `length` is the
 * value's size in UTF-8 bytes, in decimal. The length comes before the value,
 * so no value can end its record early or start another one, whatever bytes
 * it holds; the trailing `\n` lets the reader check the length. The readers
 * (addon/key_value_file.cc) refuse anything else on their own. Every value
 * becomes a C string there, so a value with a NUL byte is refused here,
 * before anything is written.
 */
import { ContainerSetupError } from '../errors.js';

/** A value in a spec: text, a number, or a flag (`1`/`0`). */
export type SpecValue = string | number | bigint | boolean;

/** One record: a key and its value. */
export type SpecRecord = readonly [string, SpecValue];

const KEY = /^[a-z][a-z0-9-]{0,31}$/;

/** The largest value the readers take (addon/key_value_file.h, kKeyValueMaxValue). */
export const SPEC_MAX_VALUE = 1 << 20;

function valueText(key: string, value: SpecValue): string {
  switch (typeof value) {
    case 'boolean':
      return value ? '1' : '0';
    case 'bigint':
      if (value < 0n) break;
      return value.toString();
    case 'number':
      if (!Number.isSafeInteger(value) || value < 0) break;
      return String(value);
    case 'string':
      if (value.includes('\0')) {
        throw new ContainerSetupError(`the value of '${key}' contains a NUL byte: it cannot be handed to the container's process`, {
          code: 'ERR_SPEC_INVALID', step: 'spec',
        });
      }
      return value;
  }
  throw new TypeError(`spec: '${key}' must be a string, a non-negative integer or a boolean, not ${String(value)}`);
}

/**
 * The records as bytes, checked first: a key that is not a spec key, a
 * value with a NUL byte or one larger than the readers take throws, and
 * nothing is returned.
 * @throws ContainerSetupError `ERR_SPEC_INVALID` (step `spec`); TypeError for a key or value berth itself got wrong.
 */
export function encodeSpec(records: readonly SpecRecord[]): Buffer {
  // one string, encoded once: keys and separators are ASCII, so the UTF-8 of
  // the whole is each value's UTF-8 between them, as its length says
  let text = '';
  for (const [key, value] of records) {
    if (!KEY.test(key)) throw new TypeError(`spec: '${key}' is not a spec key`);
    const valueString = valueText(key, value);
    const length = Buffer.byteLength(valueString, 'utf8');
    if (length > SPEC_MAX_VALUE) {
      throw new ContainerSetupError(`the value of '${key}' is ${length} bytes, more than the ${SPEC_MAX_VALUE} a spec value may have`, {
        code: 'ERR_SPEC_INVALID', step: 'spec',
      });
    }
    text += `${key}:${length}:${valueString}\n`;
  }
  return Buffer.from(text, 'utf8');
}
