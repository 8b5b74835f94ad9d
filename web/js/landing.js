// The landing page: where to go with a room link or name someone gave you. A guest who typed the
// server's address rather than the room's reads it in their language, as the room's pages.

import { served } from "./base.js";
import { chooseLanguage, t } from "./i18n.js";

const form = document.getElementById("go");
const input = document.getElementById("room");
const error = document.getElementById("room-error");

document.documentElement.lang = await chooseLanguage(new URLSearchParams(location.search).get("lang"));
for (const [id, text] of [
  ["landing-intro", t("Video meetings with a waiting room. Guests knock; a host lets them in.")],
  ["room-label", t("Were you given a room link or name?")],
  ["open-room", t("Open the room")],
  ["landing-operators", t("Running this server? Meetings are created through its REST API, as with Whereby's; see the project's docs/api.md.")],
]) {
  document.getElementById(id).textContent = text;
}
input.placeholder = t("https://…/room-name or room-name");
delete document.querySelector("main").dataset.words;

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const target = roomPath(input.value.trim());
  if (!target) {
    error.textContent = t("That is not a room link or name: a name has letters, digits and dashes.");
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
