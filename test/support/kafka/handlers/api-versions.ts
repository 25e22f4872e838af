/**
 * ApiVersions (key 18), versions 0-2. From the Kafka protocol guide:
 *
 * ApiVersions Request (Version: 0) =>
 * ApiVersions Request (Version: 1) =>
 * ApiVersions Request (Version: 2) =>
 *
 * ApiVersions Response (Version: 0) => error_code [api_keys]
 *   error_code => INT16
 *   api_keys => api_key min_version max_version
 *     api_key => INT16
 *     min_version => INT16
 *     max_version => INT16
 * ApiVersions Response (Version: 1) => error_code [api_keys] throttle_time_ms
 *   (same fields) throttle_time_ms => INT32
 * ApiVersions Response (Version: 2) => error_code [api_keys] throttle_time_ms
 *
 * A client asking for a version this broker does not serve gets, as the guide says, error UNSUPPORTED_VERSION in the
 * v0 layout (which every version can read) together with the version list, so it can retry with one that is served.
 */
import { type ApiHandler, ErrorCode } from '../api.js';
import { Writer } from '../codec.js';

export const API_VERSIONS_KEY = 18;

function body(errorCode: number, handlers: readonly ApiHandler[], withThrottle: boolean): Buffer {
  const w = new Writer().int16(errorCode).array([...handlers], (w, h) => {
    w.int16(h.apiKey).int16(h.minVersion).int16(h.maxVersion);
  });
  if (withThrottle) w.int32(0);
  return w.toBuffer();
}

/** The answer to an ApiVersions request in a version that is not served. */
export function unsupportedApiVersionsBody(handlers: readonly ApiHandler[]): Buffer {
  return body(ErrorCode.UNSUPPORTED_VERSION, handlers, false);
}

export function apiVersionsHandler(handlers: () => readonly ApiHandler[]): ApiHandler {
  return {
    apiKey: API_VERSIONS_KEY,
    name: 'ApiVersions',
    minVersion: 0,
    maxVersion: 2,
    handle: (_body, header) => body(ErrorCode.NONE, handlers(), header.apiVersion >= 1),
  };
}
