/** Test helpers for catalog files in the shapes cities export. */

let gb18030Codes: Map<string, Uint8Array> | undefined;

/**
 * GB18030 bytes of a text of ASCII and two-byte (GBK) characters — what Excel on a Chinese Windows saves as CSV.
 * Node has a GB18030 decoder but no encoder; the table is the decoder run over every two-byte sequence.
 */
export function encodeGb18030(text: string): Buffer {
  if (!gb18030Codes) {
    gb18030Codes = new Map();
    const decoder = new TextDecoder('gb18030');
    for (let lead = 0x81; lead <= 0xfe; lead++)
      for (let trail = 0x40; trail <= 0xfe; trail++) {
        if (trail === 0x7f) continue;
        const bytes = Uint8Array.of(lead, trail);
        const char = decoder.decode(bytes);
        if (char.length === 1 && !gb18030Codes.has(char)) gb18030Codes.set(char, bytes);
      }
  }
  const out: number[] = [];
  for (const char of text) {
    if (char.charCodeAt(0) < 0x80) out.push(char.charCodeAt(0));
    else {
      const bytes = gb18030Codes.get(char);
      if (!bytes) throw new Error(`no two-byte GB18030 code for ${char}`);
      out.push(...bytes);
    }
  }
  return Buffer.from(out);
}
