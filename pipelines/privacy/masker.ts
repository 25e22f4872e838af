/**
 * Masks personal data in a raw payload before its first durable write (the bus included). Fields named as
 * personal — under any of the configured names, at any depth — are replaced: phones and ID numbers by a keyed-hash
 * token (so records stay joinable by caller), names by a label. Every other string is free text: phones, landlines
 * and ID numbers inside it are replaced, and so are the caller names found in the same payload.
 */
import { type StructureLimits, structureProblem } from '../normalize/guards.js';
import { type HashKey, hashToken, parseHashToken } from './keyed-hash.js';
import { scrubPersonalText } from './personal-text.js';

export interface PersonalFieldNames {
  /** Fields holding a phone number: replaced by a keyed-hash token. */
  phone: readonly string[];
  /** Fields holding a person's name: replaced by `[name]`, and the name erased from the payload's free text. */
  name: readonly string[];
  /** Fields holding an ID number: replaced by a keyed-hash token. */
  id_number: readonly string[];
}

/** Names matched case-insensitively, ignoring `_`, `-` and spaces: `callerPhone` = `caller_phone`. */
export const defaultPersonalFieldNames: PersonalFieldNames = {
  phone: [
    'phone',
    'mobile',
    'tel',
    'telephone',
    'caller_phone',
    'contact_phone',
    'phone_no',
    'phone_number',
    'mobile_phone',
    'callback_phone',
    '电话',
    '联系电话',
    '手机',
    '手机号',
    '手机号码',
    '来电号码',
  ],
  name: [
    'name',
    'caller_name',
    'contact_name',
    'contact_person',
    'real_name',
    '姓名',
    '联系人',
    '来电人',
    '来电人姓名',
  ],
  id_number: [
    'id_card',
    'id_no',
    'id_number',
    'identity_no',
    'cert_no',
    'certificate_no',
    '身份证',
    '身份证号',
    '证件号码',
  ],
};

function fieldKey(name: string): string {
  return name.toLowerCase().replace(/[\s_-]/g, '');
}

export type MaskOutcome =
  | { ok: true; value: Buffer }
  | { ok: false; reason_code: string; message: string; preview: string };

type Kind = 'phone' | 'name' | 'id_number';

export class PersonalDataMasker {
  private readonly kinds = new Map<string, Kind>();

  constructor(
    private readonly key: HashKey,
    names: PersonalFieldNames = defaultPersonalFieldNames,
    private readonly limits: StructureLimits = { maxDepth: 64, maxStringBytes: 256 * 1024 },
  ) {
    for (const kind of ['phone', 'name', 'id_number'] as const)
      for (const name of names[kind]) this.kinds.set(fieldKey(name), kind);
  }

  /**
   * The payload with its personal data masked, ready for the bus; or why it cannot be masked safely (not UTF-8,
   * too deep, not JSON), with a preview scrubbed of every digit run and Chinese character — a dead letter's raw.
   */
  mask(value: Buffer): MaskOutcome {
    const problem = structureProblem(value, this.limits);
    let parsed: unknown;
    let message = problem?.message;
    if (!problem) {
      try {
        parsed = JSON.parse(value.toString('utf8'));
      } catch (error) {
        message = `not JSON: ${(error as Error).message}`;
      }
    }
    if (message !== undefined) {
      return {
        ok: false,
        reason_code: problem?.reason_code ?? 'malformed_json',
        message: scrubAll(message),
        preview: scrubAll(value.toString('utf8', 0, Math.min(value.length, 64 * 1024)).toWellFormed()),
      };
    }
    return { ok: true, value: Buffer.from(JSON.stringify(this.maskValue(parsed))) };
  }

  /** Masks a parsed payload in place (and returns it). Iterative: depth is limited before, but never trusted. */
  maskValue(root: unknown): unknown {
    const names: string[] = [];
    const texts: { holder: Record<string, unknown> | unknown[]; key: string | number }[] = [];
    const stack: unknown[] = [root];
    if (typeof root === 'string') return this.scrub(root, names);
    while (stack.length > 0) {
      const node = stack.pop();
      if (Array.isArray(node)) {
        for (let i = 0; i < node.length; i++) {
          const item = node[i];
          if (typeof item === 'string') texts.push({ holder: node, key: i });
          else if (typeof item === 'number' && scrubPersonalText(String(item)) !== String(item)) node[i] = '[phone]';
          else if (item !== null && typeof item === 'object') stack.push(item);
        }
      } else if (node !== null && typeof node === 'object') {
        const object = node as Record<string, unknown>;
        for (const key of Object.keys(object)) {
          const item = object[key];
          const kind = this.kinds.get(fieldKey(key));
          if (kind && (typeof item === 'string' || typeof item === 'number')) {
            const text = String(item);
            if (text === '' || parseHashToken(text)) continue;
            if (kind === 'name') {
              if (text.length >= 2) names.push(text);
              object[key] = '[name]';
            } else object[key] = hashToken(this.key, text);
          } else if (typeof item === 'string') texts.push({ holder: object, key });
          else if (typeof item === 'number' && scrubPersonalText(String(item)) !== String(item))
            object[key] = '[phone]';
          else if (item !== null && typeof item === 'object') stack.push(item);
        }
      }
    }
    for (const { holder, key } of texts) {
      const text = (holder as Record<string | number, unknown>)[key] as string;
      (holder as Record<string | number, unknown>)[key] = this.scrub(text, names);
    }
    return root;
  }

  private scrub(text: string, names: readonly string[]): string {
    let out = scrubPersonalText(text);
    for (const name of names) if (out.includes(name)) out = out.replaceAll(name, '[name]');
    return out;
  }
}

/** For text that could not be parsed: no field tells a name from a place, so every digit run and CJK character goes. */
export function scrubAll(text: string): string {
  return text.replace(/\d(?:[\s-]?\d){6,}/g, (digits) => digits.replace(/\d/g, '#')).replace(/[\u3400-\u9fff]/g, '＊');
}
