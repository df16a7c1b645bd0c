// Talking to the API through the gateway (same origin).
//
// Every error answer is RFC 9457 problem details with a stable `code`; `ApiError` carries it so
// pages branch on `code` and show `errors[]` next to the right inputs. A 401 on a signed-in
// request means the access token expired or was revoked: the session is refreshed once and the
// request sent again, so a shopper never sees the expiry.

import { session } from './session.js';

export class ApiError extends Error {
  constructor(status, problem, headers) {
    const message = problem.detail || problem.title || `The request failed (HTTP ${status}).`;
    super(message);
    this.status = status;
    this.code = problem.code || (status === 0 ? 'network_error' : `http_${status}`);
    this.title = problem.title || '';
    this.detail = problem.detail || '';
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.problem = problem;
    const retryAfter = headers ? Number.parseInt(headers.get('retry-after') || '', 10) : NaN;
    this.retryAfter = Number.isFinite(retryAfter) ? retryAfter : null;
  }
}

/**
 * One request, no session logic: `token` is sent as a Bearer token if given. Resolves to
 * `{status, data, headers}` for a 2xx (data: parsed JSON or null), throws `ApiError` otherwise
 * (status 0 when the gateway could not be reached at all).
 */
export async function send(method, path, { body, token, headers = {}, signal } = {}) {
  const init = { method, headers: { accept: 'application/json', ...headers }, signal, cache: 'no-store' };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (token) init.headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, init);
  } catch (cause) {
    if (signal?.aborted) throw cause;
    throw new ApiError(0, {
      title: 'Network error',
      detail: 'The shop cannot be reached. Check your connection and try again.',
    });
  }
  const data = await readBody(response);
  if (!response.ok) {
    const problem = data && typeof data === 'object' ? data : {};
    throw new ApiError(response.status, problem, response.headers);
  }
  return { status: response.status, data, headers: response.headers };
}

async function readBody(response) {
  if (response.status === 204 || response.status === 304) return null;
  const type = response.headers.get('content-type') || '';
  if (!type.includes('json')) {
    await response.arrayBuffer().catch(() => null);
    return null;
  }
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/**
 * A request on behalf of the signed-in user (if any): the access token is attached (refreshed
 * first when about to expire), and a 401 triggers one refresh and one retry.
 */
export async function api(method, path, options = {}) {
  const token = await session.accessToken();
  try {
    return await send(method, path, { ...options, token });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401 || !token) throw error;
    await session.refresh();
    return send(method, path, { ...options, token: await session.accessToken() });
  }
}

export const get = (path, options) => api('GET', path, options);
export const post = (path, body, options = {}) => api('POST', path, { ...options, body });
export const put = (path, body, options = {}) => api('PUT', path, { ...options, body });
export const patch = (path, body, options = {}) => api('PATCH', path, { ...options, body });
export const del = (path, options) => api('DELETE', path, options);

/** `?a=1&b=2` from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
