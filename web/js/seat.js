// What a tab keeps of a room across a reload, in its session storage (not the browser's: another
// tab may be another person, and this goes with the tab); forgotten when the person leaves.
// - Its place: the resume token the room gave it. A reloaded page joins with it and, within the
//   room's resume grace, is back as itself: in the call without knocking again, or in line where it
//   was.
// - The chat it showed, so that page shows what was said.

/** One item of the tab's session storage; where storage is refused (a private window), nothing. */
class SessionSlot {
  constructor(slot, storage) {
    this.slot = slot;
    this.storage = storage;
  }

  get() {
    try {
      return this.storage?.getItem(this.slot) ?? null;
    } catch {
      return null;
    }
  }

  /** Keeps `value` (null: forgets it); full or refused, nothing is kept. */
  set(value) {
    try {
      if (value) this.storage?.setItem(this.slot, value);
      else this.storage?.removeItem(this.slot);
    } catch {
      // Refused: a reload starts anew, as before.
    }
  }
}

export class KeptSeat {
  constructor(roomName, storage = sessionStorageIfAllowed()) {
    this.item = new SessionSlot(`anteroom:seat:${roomName}`, storage);
  }

  /** The token kept for this room, or null. */
  get() {
    return this.item.get() || null;
  }

  /** Keeps `token` (null: forgets it). */
  set(token) {
    this.item.set(token);
  }
}

/** The latest messages this tab showed, kept (at most so many). */
const CHAT_KEPT = 200;

/** The chat this tab showed in a room. */
export class KeptChat {
  constructor(roomName, storage = sessionStorageIfAllowed()) {
    this.item = new SessionSlot(`anteroom:chat:${roomName}`, storage);
  }

  /** The messages kept, oldest first: `{id, senderId, displayName, text, timestamp, removed?}`. */
  read() {
    try {
      const kept = JSON.parse(this.item.get() || "[]");
      return Array.isArray(kept) ? kept.filter((m) => m && typeof m.text === "string") : [];
    } catch {
      return [];
    }
  }

  add({ id, senderId, displayName, text, timestamp }) {
    this.write([...this.read(), { id, senderId, displayName, text, timestamp }].slice(-CHAT_KEPT));
  }

  /** A message removed for everyone: kept as removed (its words go). */
  removed(id) {
    this.write(this.read().map((m) => (m.id === id ? { ...m, text: "", removed: true } : m)));
  }

  clear() {
    this.item.set(null);
  }

  write(messages) {
    this.item.set(JSON.stringify(messages));
  }
}

function sessionStorageIfAllowed() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
