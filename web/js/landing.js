// The landing page: where to go with a room link or name someone gave you.

import { served } from "./base.js";

const form = document.getElementById("go");
const input = document.getElementById("room");
const error = document.getElementById("room-error");

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const target = roomPath(input.value.trim());
  if (!target) {
    error.textContent = "That is not a room link or name: a name has letters, digits and dashes.";
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return;
  }
  window.location.assign(target);
});

/** A room link (of this server or pasted whole) or a bare name, as a path here; null if neither. */
function roomPath(text) {
  let path = text;
  try {
    // A room URL ends in the room's name, under whatever path its server has.
    const url = new URL(text);
    path = `/${url.pathname.split("/").filter(Boolean).pop() || ""}${url.search}`;
  } catch {
    // not a URL: a name
  }
  const match = /^\/?([a-z0-9-]{1,100})(\?.*)?$/i.exec(path);
  return match ? served(`/${match[1].toLowerCase()}${match[2] || ""}`) : null;
}
