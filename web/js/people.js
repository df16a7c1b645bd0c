// Who a user id is, for the admin's views: the username from the users service.
//
// Orders name their customer by id only. Rather than one `GET /users/{id}` per table row, the
// ids not known yet are looked for in the admin's profile list (`GET /users`), read a page of
// 100 at a time, and every profile a page brings is remembered for this tab. An id the whole
// list does not hold has no live profile (its account was deleted): it is shown as its short
// id, and looked for again only after a minute. Only a shop too big to list in a few pages
// falls back to asking for the rest one by one, a few at a time.

import { ApiError, get } from './api.js';

const PAGE_SIZE = 100;
const MAX_PAGES = 5;
const MAX_PARALLEL = 4;
const FORGET_MISSING_MS = 60000;

/** id → username; or `{missing: time}` for an id with no profile when last asked. */
const known = new Map();

/** Records profiles just read (the admin's customer list). */
export function rememberProfiles(profiles) {
  for (const profile of profiles) known.set(profile.id, profile.username);
}

/** Pages of the profile list fetched lately, by offset: the views of one page share them. */
const pages = new Map();
const PAGE_FRESH_MS = 5000;

/** One page of the admin's profile list (`GET /users`), remembered. */
export function profilesPage(offset, { signal } = {}) {
  const cached = pages.get(offset);
  if (cached && Date.now() - cached.at < PAGE_FRESH_MS) return cached.request;
  const request = get(`/users?limit=${PAGE_SIZE}&offset=${offset}`, { signal }).then(({ data }) => {
    rememberProfiles(data.items);
    return data;
  });
  pages.set(offset, { request, at: Date.now() });
  request.catch(() => pages.delete(offset));
  return request;
}

function unknown(id) {
  const entry = known.get(id);
  return entry === undefined || (typeof entry === 'object' && Date.now() - entry.missing > FORGET_MISSING_MS);
}

/** The usernames of `ids`: a Map id → username, or null for an id with no profile. */
export async function usernames(ids, { signal } = {}) {
  let wanted = [...new Set(ids)].filter(unknown);
  let listedAll = false;
  for (let page = 0; wanted.length && page < MAX_PAGES; page += 1) {
    const data = await profilesPage(page * PAGE_SIZE, { signal });
    wanted = wanted.filter((id) => typeof known.get(id) !== 'string');
    listedAll = (page + 1) * PAGE_SIZE >= data.total;
    if (listedAll) break;
  }
  if (listedAll) {
    for (const id of wanted) known.set(id, { missing: Date.now() });
  } else {
    const queue = [...wanted];
    await Promise.all(Array.from({ length: Math.min(MAX_PARALLEL, queue.length) }, async () => {
      while (queue.length) {
        const id = queue.shift();
        try {
          const { data } = await get(`/users/${encodeURIComponent(id)}`, { signal });
          known.set(id, data.username);
        } catch (error) {
          if (!(error instanceof ApiError) || error.status !== 404) throw error;
          known.set(id, { missing: Date.now() });
        }
      }
    }));
  }
  return new Map(ids.map((id) => {
    const entry = known.get(id);
    return [id, typeof entry === 'string' ? entry : null];
  }));
}
