// The server's clock as read on this page. The times the server sends (a knock's, a recording's
// start) are its clock's; a computer's clock can be minutes off, so ages are counted from the
// server's time as `room_joined` gave it, moved on by this page's clock since.

let offset = 0;

/** A `room_joined`'s `serverTime` (milliseconds since 1970; a server of before it: ignored). */
export function heardServerTime(serverTime) {
  if (Number.isFinite(serverTime)) offset = serverTime - Date.now();
}

/** The server's time now, in milliseconds since 1970. */
export const serverNow = () => Date.now() + offset;
