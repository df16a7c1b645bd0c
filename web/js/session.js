// Who is signed in, and keeping their tokens fresh.
//
// The access token lives in memory only: a script injected into the page later could read
// storage, and an access token is the key to everything for its lifetime. The refresh token is
// kept in sessionStorage (this tab only, gone when it closes) so a reload keeps the shopper
// signed in; each refresh rotates it, and the old one is dead. The access token is renewed a
// little before it expires (a quarter of its lifetime, at most 30 s early) and also whenever the
// API answers 401, so a long visit never shows an expiry. Signing out revokes the refresh token
// at auth.

import { ApiError, send } from './api.js';

const REFRESH_KEY = 'microshop.refresh';

/** The claims of a JWT (not verified: the server does that; this is only for display). */
function claimsOf(token) {
  const payload = token.split('.')[1] || '';
  const base64 = payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

class Session extends EventTarget {
  #access = null;
  #user = null;
  #expiresAt = 0;
  #lifetime = 0;
  #timer = null;
  #refreshing = null;

  constructor() {
    super();
    document.addEventListener('visibilitychange', () => {
      // Timers are throttled in background tabs: catch up when the tab is seen again.
      if (document.visibilityState === 'visible' && this.#access && this.#dueSoon()) {
        this.refresh().catch(() => {});
      }
    });
  }

  /** `{id, name, role}` of the signed-in user, or null. */
  get user() {
    return this.#user;
  }

  get signedIn() {
    return this.#user !== null;
  }

  get isAdmin() {
    return this.#user?.role === 'admin';
  }

  /** At start: a refresh token left by this tab (a reload) signs the user back in. */
  async restore() {
    if (!sessionStorage.getItem(REFRESH_KEY)) return;
    try {
      await this.refresh();
    } catch {
      // Expired or revoked: the user signs in again.
    }
  }

  async login(username, password) {
    const { data } = await send('POST', '/auth/login', { body: { username, password } });
    this.#accept(data);
  }

  /** Creates an account (the caller signs in after). */
  async register(fields) {
    return send('POST', '/auth/register', { body: fields });
  }

  /** A valid access token (renewed first if it is about to expire), or null when signed out. */
  async accessToken() {
    if (!this.#access) return null;
    // A token this close to its end could expire on the way: renew it first.
    if (this.#dueSoon(Math.min(5000, this.#lifetime / 10))) {
      try {
        await this.refresh();
      } catch {
        // Sent as it is; a 401 then ends the session cleanly.
      }
    }
    return this.#access;
  }

  /** Renews the tokens; concurrent callers share one refresh (a refresh token works once). */
  refresh() {
    if (!this.#refreshing) {
      this.#refreshing = this.#renew().finally(() => {
        this.#refreshing = null;
      });
    }
    return this.#refreshing;
  }

  async #renew() {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (!refreshToken) {
      this.#end('expired');
      throw new ApiError(401, { code: 'session_ended', detail: 'Your session has ended; please sign in again.' });
    }
    try {
      const { data } = await send('POST', '/auth/refresh', { body: { refresh_token: refreshToken } });
      this.#accept(data);
    } catch (error) {
      if (error instanceof ApiError && error.status !== 0 && error.status < 500 && error.status !== 429) {
        this.#end('expired');
      } else {
        // The network or auth is down: keep the session and try again shortly.
        this.#schedule(5000);
      }
      throw error;
    }
  }

  async logout() {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    const token = this.#access;
    this.#end('signed-out');
    if (token && refreshToken) {
      try {
        await send('POST', '/auth/logout', { token, body: { refresh_token: refreshToken } });
      } catch {
        // Signed out here in any case; the refresh token expires on its own.
      }
    }
  }

  #dueSoon(margin = 0) {
    return Date.now() + margin >= this.#expiresAt;
  }

  #accept(tokens) {
    const before = this.#user?.id;
    this.#access = tokens.access_token;
    sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token);
    const claims = claimsOf(tokens.access_token);
    this.#user = { id: claims.sub, name: claims.name, role: claims.role };
    // The token's `exp` is its whole-second `iat` plus the lifetime, so it can come up to a
    // second before receipt + expires_in: count from a second earlier, or a renewal scheduled
    // for just before the end comes after the server has ended the token's stream.
    const lifetime = Math.max(500, Math.max(1, Number(tokens.expires_in) || 60) * 1000 - 1000);
    this.#lifetime = lifetime;
    this.#expiresAt = Date.now() + lifetime;
    this.#schedule(lifetime - Math.min(30000, lifetime / 4));
    this.dispatchEvent(new CustomEvent('refreshed'));
    if (before !== this.#user.id) this.dispatchEvent(new CustomEvent('change', { detail: { reason: 'signed-in' } }));
  }

  #schedule(delay) {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.refresh().catch(() => {}), Math.max(0, delay));
  }

  #end(reason) {
    clearTimeout(this.#timer);
    const was = this.#user;
    this.#access = null;
    this.#user = null;
    this.#expiresAt = 0;
    sessionStorage.removeItem(REFRESH_KEY);
    if (was) this.dispatchEvent(new CustomEvent('change', { detail: { reason } }));
  }
}

export const session = new Session();
