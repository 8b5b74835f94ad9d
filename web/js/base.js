// Where this server's routes are: "" at the root of its address, or the path of its public URL
// ("/meet") when a proxy gives it a path of a site (docs/deployment.md). Read from this module's
// own address, which is always <base>/assets/js/base.js; outside a page (the unit tests), "".

const here = new URL(import.meta.url);

export const BASE = here.protocol.startsWith("http") ? new URL("../..", here).pathname.replace(/\/$/, "") : "";

/** A path of this server (`/assets/favicon.svg`, `/v1/signal`) as the page must ask for it. */
export function served(path) {
  return `${BASE}${path}`;
}

/** The page's path within this server: `/meet/room-1` → `/room-1`; a path outside it as it is. */
export function withinBase(pathname, base = BASE) {
  if (!base) return pathname;
  if (pathname === base) return "/";
  return pathname.startsWith(`${base}/`) ? pathname.slice(base.length) : pathname;
}
