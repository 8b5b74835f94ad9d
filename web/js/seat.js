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

function sessionStorageIfAllowed() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
