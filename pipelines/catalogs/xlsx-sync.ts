import { createRequire } from 'node:module';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';

/** One sheet row: its 1-based row number and its cells (text, number, boolean, Date or null) from column A on. */
export interface SheetRow {
  number: number;
  cells: unknown[];
}

/**
 * The worker's script. exceljs only reads asynchronously, but catalogs are read where config check and the
 * preflight of `run` are synchronous; the worker reads while this thread waits on a shared flag. Inline (eval) so it
 * runs the same from sources under vitest and from dist/. Rich text, hyperlinks and formulas give their text/result.
 */
const workerScript = `
const { workerData } = require('node:worker_threads');
const finish = (message) => {
  workerData.port.postMessage(message);
  Atomics.store(workerData.signal, 0, 1);
  Atomics.notify(workerData.signal, 0);
};
const plain = (value) => {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || value instanceof Date) return value;
  if (Array.isArray(value.richText)) return value.richText.map((run) => run.text).join('');
  if ('result' in value) return plain(value.result);
  if ('text' in value) return plain(value.text);
  if ('error' in value) return String(value.error);
  return null;
};
(async () => {
  const ExcelJS = require(workerData.exceljs);
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.readFile(workerData.file);
  const sheet = workbook.worksheets[0];
  const rows = [];
  if (sheet) sheet.eachRow({ includeEmpty: false }, (row, number) => {
    const cells = [];
    for (let c = 1; c <= row.cellCount; c++) cells.push(plain(row.getCell(c).value));
    rows.push({ number, cells });
  });
  return rows;
})().then((rows) => finish({ rows }), (error) => finish({ error: String(error && error.message || error) }));
`;

const exceljsPath = createRequire(import.meta.url).resolve('exceljs');

/** Reads the first sheet of an XLSX file, synchronously. Throws an Error with the reader's message (corrupt file). */
export function readFirstSheetSync(file: string, timeoutMs = 120_000): SheetRow[] {
  const { port1, port2 } = new MessageChannel();
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(workerScript, {
    eval: true,
    workerData: { exceljs: exceljsPath, file, port: port2, signal },
    transferList: [port2],
  });
  try {
    if (Atomics.wait(signal, 0, 0, timeoutMs) === 'timed-out')
      throw new Error(`reading the spreadsheet took longer than ${timeoutMs} ms`);
    const received = receiveMessageOnPort(port1)?.message as { rows?: SheetRow[]; error?: string } | undefined;
    if (!received?.rows) throw new Error(`not a readable XLSX workbook: ${received?.error ?? 'no answer from reader'}`);
    return received.rows;
  } finally {
    port1.close();
    void worker.terminate();
  }
}
