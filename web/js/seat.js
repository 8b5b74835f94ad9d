// This tab's place in a room across a reload: the resume token the room gave it, kept in the tab's
// session storage (not the browser's: another tab may be another person, and the place goes with
// the tab). A reloaded page joins with it and, within the room's resume grace, is back as itself:
// in the call without knocking again, or in line where it was. Leaving, or being sent away,
// forgets it.

export class KeptSeat {
  constructor(roomName, storage = sessionStorageIfAllowed()) {
    this.slot = `anteroom:seat:${roomName}`;
    this.storage = storage;
  }

  /** The token kept for this room, or null. */
  get() {
    try {
      return this.storage?.getItem(this.slot) || null;
    } catch {
      return null;
    }
  }

  /** Keeps `token` (null: forgets it). */
  set(token) {
    try {
      if (token) this.storage?.setItem(this.slot, token);
      else this.storage?.removeItem(this.slot);
    } catch {
      // Refused (a private window): a reload joins anew, as before.
    }
  }
}

/** The latest messages this tab showed, kept (at most so many). */
const CHAT_KEPT = 200;

/**
 * The chat this tab showed in a room, kept beside its place for a reload (in the tab's session
 * storage: gone with the tab, and forgotten when the person leaves): a page reloaded, back in the
 * call as itself, shows what was said.
 */
export class KeptChat {
  constructor(roomName, storage = sessionStorageIfAllowed()) {
    this.slot = `anteroom:chat:${roomName}`;
    this.storage = storage;
  }

  /** The messages kept, oldest first: `{id, senderId, displayName, text, timestamp, removed?}`. */
  read() {
    try {
      const kept = JSON.parse(this.storage?.getItem(this.slot) || "[]");
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
    try {
      this.storage?.removeItem(this.slot);
    } catch {
      // Nothing was kept.
    }
  }

  write(messages) {
    try {
      this.storage?.setItem(this.slot, JSON.stringify(messages));
    } catch {
      // Full or refused: the chat is kept on the page only.
    }
  }
}

function sessionStorageIfAllowed() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
