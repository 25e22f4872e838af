/** Test helpers for catalog files in the shapes cities export. */

/** GB18030 bytes of a text — what Excel on a Chinese Windows saves as CSV. */
export { encodeGb18030 } from '../../connectors/gb18030.js';
