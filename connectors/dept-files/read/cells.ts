/** Cell-level rules shared by the csv and xlsx readers. */

/**
 * Whether a text cell is a formula or would run as one when a user opens the data in a spreadsheet (CSV/DDE
 * injection: `=cmd|' /C calc'!A0`, `@SUM(1+1)*cmd|…`, `+cmd|…`, `-A1`). A sign followed by a number, or alone,
 * is data (`-5`, `+8613800000000`, `-`); so is `@` before anything but a function call (`@张三`).
 */
export function looksLikeFormula(text: string): boolean {
  const c = text.charCodeAt(0);
  if (c === 0x3d /* = */) return true;
  if (c === 0x40 /* @ */) return /^@\s*[A-Za-z_][\w.]*\s*\(/.test(text);
  if (c !== 0x2b /* + */ && c !== 0x2d /* - */) return false;
  if (text.includes('|')) return true; // DDE: +cmd|' /C calc'!A0, -1+cmd|…
  return /^[+-]\s*[A-Za-z(=@]/.test(text);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * A spreadsheet date as the wall time the sheet shows, `YYYY-MM-DD HH:mm:ss`. Excel dates carry no zone: the
 * reader gives the serial's clock time as if it were UTC, and the source mapping applies the source's zone.
 */
export function wallTime(date: Date): string {
  const d = new Date(Math.round(date.getTime() / 1000) * 1000);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/** Spreadsheet column letters of a 1-based column index (1 → A, 27 → AA), for messages. */
export function columnLetters(index: number): string {
  let s = '';
  for (let n = index; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}
