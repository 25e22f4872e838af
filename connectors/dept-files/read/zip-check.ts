/**
 * Is an .xlsx file a whole zip archive? Checked on the raw bytes while they stream by (first bytes and the tail),
 * before any zip reader sees the file: a zip cut short loses its end-of-central-directory record, and a streaming
 * unzipper would otherwise read the entries that survived and report a half workbook as a whole one.
 */
const LOCAL_HEADER = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const END_RECORD = Buffer.from([0x50, 0x4b, 0x05, 0x06]);
const END_RECORD_SIZE = 22;
/** The end record sits within its size plus the longest zip comment from the end. */
const TAIL_BYTES = END_RECORD_SIZE + 0xffff;
const ZIP64_MARK = 0xffffffff;

export type ZipVerdict = { ok: true } | { ok: false; kind: 'binary' | 'truncated' | 'corrupt'; message: string };

export class ZipCheck {
  private head: Buffer | undefined;
  private tail: Buffer[] = [];
  private tailLength = 0;
  private size = 0;

  push(chunk: Buffer): void {
    if (!this.head) this.head = Buffer.from(chunk.subarray(0, 4));
    else if (this.head.length < 4) this.head = Buffer.concat([this.head, chunk]).subarray(0, 4);
    this.size += chunk.length;
    this.tail.push(chunk);
    this.tailLength += chunk.length;
    while (this.tail.length > 1 && this.tailLength - this.tail[0]!.length >= TAIL_BYTES)
      this.tailLength -= this.tail.shift()!.length;
  }

  verdict(): ZipVerdict {
    if (!this.head?.equals(LOCAL_HEADER))
      return {
        ok: false,
        kind: 'binary',
        message: 'not a zip archive (an .xlsx file is one): wrong format or a renamed file',
      };
    const tail = Buffer.concat(this.tail);
    const at = tail.lastIndexOf(END_RECORD);
    if (at === -1 || at + END_RECORD_SIZE > tail.length)
      return {
        ok: false,
        kind: 'truncated',
        message: 'the zip archive has no end record: the file was cut short (an interrupted upload or copy)',
      };
    const directorySize = tail.readUInt32LE(at + 12);
    const directoryOffset = tail.readUInt32LE(at + 16);
    const endOffset = this.size - tail.length + at;
    if (directoryOffset !== ZIP64_MARK && directoryOffset + directorySize !== endOffset)
      return {
        ok: false,
        kind: 'corrupt',
        message: `the zip's central directory should end at byte ${directoryOffset + directorySize}, its end record is at ${endOffset}`,
      };
    return { ok: true };
  }
}
