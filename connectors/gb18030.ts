/**
 * GBK / GB18030 bytes of a text — what Excel or a bureau's export tool on a Chinese Windows writes. Node decodes
 * GB18030 but has no encoder, so the table is the decoder run once over every two-byte (GBK) and four-byte sequence;
 * the supplementary planes map linearly from 0x90308130. The demo writes its department files with it, tests their
 * fixtures.
 */
import { TextDecoder } from 'node:util';

let twoByte: Map<number, Buffer> | undefined;
let fourByte: Map<number, Buffer> | undefined;

function learn(table: Map<number, Buffer>, decoder: TextDecoder, bytes: Buffer): void {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return;
  }
  const cp = text.codePointAt(0)!;
  if (text.length === 1 && !table.has(cp)) table.set(cp, bytes);
}

/** Code point → its two GBK bytes. */
function gbkTable(): Map<number, Buffer> {
  if (twoByte) return twoByte;
  const table = new Map<number, Buffer>();
  const decoder = new TextDecoder('gb18030', { fatal: true });
  for (let b1 = 0x81; b1 <= 0xfe; b1++)
    for (let b2 = 0x40; b2 <= 0xfe; b2++) if (b2 !== 0x7f) learn(table, decoder, Buffer.from([b1, b2]));
  twoByte = table;
  return table;
}

/** Code point → its four GB18030 bytes, for the BMP characters GBK lacks. */
function fourByteTable(): Map<number, Buffer> {
  if (fourByte) return fourByte;
  const table = new Map<number, Buffer>();
  const decoder = new TextDecoder('gb18030', { fatal: true });
  for (let b1 = 0x81; b1 <= 0x84; b1++)
    for (let b2 = 0x30; b2 <= 0x39; b2++)
      for (let b3 = 0x81; b3 <= 0xfe; b3++)
        for (let b4 = 0x30; b4 <= 0x39; b4++) learn(table, decoder, Buffer.from([b1, b2, b3, b4]));
  fourByte = table;
  return table;
}

function encode(text: string, bytesOf: (cp: number, ch: string) => Buffer): Buffer {
  const parts: Buffer[] = [];
  let ascii = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      ascii += ch;
      continue;
    }
    if (ascii) parts.push(Buffer.from(ascii, 'latin1'));
    ascii = '';
    parts.push(bytesOf(cp, ch));
  }
  if (ascii) parts.push(Buffer.from(ascii, 'latin1'));
  return Buffer.concat(parts);
}

/** `text` in GBK; a character GBK lacks throws (RangeError naming it). */
export function encodeGbk(text: string): Buffer {
  const table = gbkTable();
  return encode(text, (cp, ch) => {
    const bytes = table.get(cp);
    if (!bytes) throw new RangeError(`U+${cp.toString(16)} (${ch}) has no GBK bytes`);
    return bytes;
  });
}

/** `text` in GB18030: GBK's two bytes where GBK has the character, four bytes otherwise. */
export function encodeGb18030(text: string): Buffer {
  const gbk = gbkTable();
  return encode(text, (cp) => {
    if (cp >= 0x10000) {
      const i = cp - 0x10000;
      return Buffer.from([
        0x90 + Math.floor(i / 12600),
        0x30 + (Math.floor(i / 1260) % 10),
        0x81 + (Math.floor(i / 10) % 126),
        0x30 + (i % 10),
      ]);
    }
    const bytes = gbk.get(cp) ?? fourByteTable().get(cp);
    if (!bytes) throw new RangeError(`U+${cp.toString(16)} has no GB18030 bytes`);
    return bytes;
  });
}
