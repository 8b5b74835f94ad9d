// A host's People panel in rooms with more people than a glance takes in: finding someone by name,
// what the host is in the middle of kept as the room changes, and a room with no place left.
import { test } from "node:test";
import assert from "node:assert/strict";

import { opener, screenshot } from "../lib/browser.mjs";
import { crowdJoins } from "../lib/crowd.mjs";
import { enterAsHost, openPeople, knockerItem, knockerNames, noPageErrors, until } from "../lib/flows.mjs";
import { sharedServerAndBrowser } from "../lib/suite.mjs";

const shared = sharedServerAndBrowser();

/** A locked group room, its host's People open, and Ann and Ben (a crowd's) knocking. */
async function twoKnockAtALargeRoom(t) {
  const open = opener(shared.browser, t);
  const meeting = await shared.server.meeting({ isLocked: true, roomMode: "group" });
  const host = await open("host");
  await enterAsHost(host, meeting);
  await openPeople(host);
  const crowd = await open("crowd");
  await crowdJoins(crowd, shared.server.base, meeting.roomName, ["Ann", "Ben"]);
  await host.waitForFunction(() => document.querySelectorAll(".knocker").length === 2);
  return { meeting, host, crowd };
}

test("People finds someone by name in a large room: among those waiting, then in the room", async (t) => {
  const { meeting, host, crowd } = await twoKnockAtALargeRoom(t);
  assert.ok(await host.locator("#people-find").isHidden(), "a small room is seen at a glance");
  const names = ["Ada Lovelace", "Émile Zola", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Edsger Dijkstra", "Barbara Liskov"];
  await crowdJoins(crowd, shared.server.base, meeting.roomName, names);
  await host.waitForFunction(() => document.querySelectorAll(".knocker").length === 9);
  await host.fill("#people-find", "emile");
  await host.waitForFunction(() => document.querySelectorAll(".knocker").length === 1);
  assert.deepEqual(await knockerNames(host), ["Émile Zola"]);
  assert.match(await host.textContent(".knocker .place"), /^#4/, "its place in line, not in the list found");
  assert.match(await host.textContent("#waiting-title"), /\(9\)/, "the count is everyone's");
  assert.equal(await host.locator("#admit-all").count(), 0, "what is done for everyone is not offered while only some are shown");
  await screenshot(host, "17-people-find-knocker");
  await host.fill("#people-find", "");
  await host.waitForFunction(() => document.querySelectorAll(".knocker").length === 9);
  await host.click("#admit-all");
  await host.waitForFunction(() => document.querySelectorAll(".participant").length === 10);
  await host.fill("#people-find", "LOVE");
  await host.waitForFunction(() => document.querySelectorAll(".participant").length === 1);
  assert.equal(await host.textContent(".participant .participant-name"), "Ada Lovelace");
  // Typing goes on undisturbed while the room changes (the list is drawn anew, the field is not).
  await host.focus("#people-find");
  await crowd.evaluate(() => window.crowd.find((ws) => ws.readyState === 1).send(JSON.stringify({ type: "leave_room" })));
  await host.waitForFunction(() => document.querySelector("#in-room-title").textContent.includes("9"));
  assert.equal(await host.evaluate(() => document.activeElement.id), "people-find");
  await host.fill("#people-find", "nobody at all");
  await host.waitForSelector("#people-panel .empty:text('Nobody by that name.')");
  noPageErrors(host);
});

test("what a host is in the middle of in People stays as the room changes around it", async (t) => {
  const { meeting, host, crowd } = await twoKnockAtALargeRoom(t);
  // Half a message to everyone waiting, when someone else knocks.
  await host.fill(".message-all", "Thanks for wai");
  await crowdJoins(crowd, shared.server.base, meeting.roomName, ["Cy"]);
  await host.waitForFunction(() => document.querySelectorAll(".knocker").length === 3);
  assert.equal(await host.inputValue(".message-all"), "Thanks for wai", "what was typed is still there");
  assert.equal(await host.evaluate(() => document.activeElement.className), "message-all", "and the caret in it");
  await host.click("#admit-all");
  await host.waitForFunction(() => document.querySelectorAll(".participant").length === 4);
  // (Their tiles: a crowd's people send no media, so their initials stand in for a picture.)
  assert.equal(await host.locator(".tile", { hasText: "Ann" }).locator(".avatar").isVisible(), true, "no picture: initials");
  await host.waitForSelector(".tile.self.picture");
  assert.equal(await host.locator(".tile.self .avatar").isVisible(), false, "a picture: no initials over it");
  // A removal asked once ("sure?"), when someone else turns their microphone off.
  const ann = host.locator(".participant", { hasText: "Ann" });
  await ann.locator(".more").click();
  await ann.locator(".remove").click();
  await crowd.evaluate(() => window.crowd[1].send(JSON.stringify({ type: "set_media_state", payload: { audio: false, video: false } })));
  await host.locator(".participant", { hasText: "Ben" }).locator(".participant-muted").waitFor();
  assert.equal(await ann.locator(".remove .label").textContent(), "Confirm remove", "the question is still asked");
  noPageErrors(host);
});

test("in a full room, Let in says it cannot before it is clicked; once a place is free it lets in again", async (t) => {
  const open = opener(shared.browser, t);
  const meeting = await shared.server.meeting({ isLocked: true });
  const host = await open("host");
  await enterAsHost(host, meeting);
  await openPeople(host);
  const crowd = await open("crowd");
  // (They knock at once: the line's order is the server's, read from the page.)
  const names = ["Ann", "Ben", "Cy", "Di", "Eve", "Flo", "Gus"];
  await crowdJoins(crowd, shared.server.base, meeting.roomName, names);
  await host.waitForFunction(() => document.querySelectorAll(".knocker").length === 7);
  const unavailable = () => host.locator(".knocker .let-in").evaluateAll((buttons) => buttons.map((b) => b.getAttribute("aria-disabled")));
  assert.equal(await host.locator("#room-full").count(), 0, "a room with places free says nothing");
  assert.deepEqual(await unavailable(), Array(7).fill(null));
  // The host and three fill a normal room's four places: the other four stay waiting.
  await host.click("#admit-all");
  await host.waitForFunction(() => document.querySelectorAll(".participant").length === 4);
  await host.waitForSelector("#room-full");
  const waiting = await knockerNames(host);
  assert.equal(waiting.length, 4);
  assert.equal(await host.locator("#admit-all").count(), 0, "the line takes the place of Let everyone in");
  assert.deepEqual(await unavailable(), Array(4).fill("true"), "each Let in says it cannot");
  assert.equal(await host.locator(".knocker .let-in").first().getAttribute("aria-describedby"), "room-full", "and why, to a screen reader");
  await screenshot(host, "people-room-full");
  // (Letting everyone in said that the room filled up and who stays waiting, in a note.)
  const refusals = () => host.locator(".toast", { hasText: "full" }).count();
  const refusedBefore = await refusals();
  // (Forced: Playwright, as a screen reader, takes aria-disabled for disabled; a mouse still clicks.)
  await knockerItem(host, waiting[0]).locator(".let-in").click({ force: true });
  await host.waitForTimeout(500);
  assert.deepEqual(await knockerNames(host), waiting, "a click does nothing");
  assert.equal(await refusals(), refusedBefore, "and needs no refusal from the server");
  // Eight people: People finds by name. While a search hides what is done for everyone, the line
  // still says why Let in is dimmed.
  await host.fill("#people-find", waiting[1].toLowerCase());
  await host.waitForFunction(() => document.querySelectorAll(".knocker").length === 1);
  assert.ok(await host.locator("#room-full").isVisible(), "the line, on its own");
  assert.equal(await host.locator("#admit-all, .message-all").count(), 0);
  await host.fill("#people-find", "");
  await host.waitForFunction(() => document.querySelectorAll(".knocker").length === 4);
  // Someone in the room leaves: a place is free, and Let in lets the first waiting in.
  const leaving = names.findIndex((name) => !waiting.includes(name));
  await crowd.evaluate((i) => window.crowd[i].send(JSON.stringify({ type: "leave_room" })), leaving);
  await host.waitForSelector("#room-full", { state: "detached" });
  await host.waitForSelector("#admit-all");
  assert.deepEqual(await unavailable(), Array(4).fill(null));
  await knockerItem(host, waiting[0]).locator(".let-in").click();
  await until(async () => ((await knockerNames(host)).join() === waiting.slice(1).join() ? true : undefined), "the first waiting is let in");
  await host.waitForSelector("#room-full");
  noPageErrors(host);
});

test("many knocks at once make one toast that counts them, and a phone's controls stay in reach", async (t) => {
  const open = opener(shared.browser, t);
  const meeting = await shared.server.meeting({ isLocked: true });
  const host = await open("host", { viewport: { width: 390, height: 844 } });
  await enterAsHost(host, meeting);
  const crowd = await open("crowd");
  const names = ["Ann", "Ben", "Cy", "Di", "Eve", "Flo", "Gus", "Hal", "Ida"];
  await crowdJoins(crowd, shared.server.base, meeting.roomName, names);
  const toast = host.locator(".knock-toast");
  await until(async () => (/ and 8 others are knocking/.test(await toast.textContent()) ? true : undefined), "the toast counts the knocks");
  assert.equal(await toast.count(), 1, "one toast, not one a knock");
  await screenshot(host, "people-many-knocks-390x844");
  // People is clicked, not covered by notices (a click on what covers it would fail here).
  const covered = await host.locator("#people-toggle").evaluate((button) => {
    const box = button.getBoundingClientRect();
    return !button.contains(document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2));
  });
  assert.equal(covered, false, "the People button is not covered");
  // One leaves the line: the toast counts one fewer.
  await crowd.evaluate(() => window.crowd[0].send(JSON.stringify({ type: "leave_room" })));
  await until(async () => (/ and 7 others are knocking/.test(await toast.textContent()) ? true : undefined), "the toast counts one fewer");
  await host.click("#people-toggle");
  await host.waitForFunction(() => document.querySelectorAll(".knocker").length === 8);
  // Three are let in (the room's four places are full): the toast, out of sight under People,
  // counts those still waiting.
  await host.click("#admit-all");
  await until(async () => (/ and 4 others are knocking/.test(await toast.textContent()) ? true : undefined), "the toast counts those let in no more");
  // The three in the room raise their hands at once, People closed: one note counts them.
  await host.click("#people-toggle");
  await crowd.evaluate(() => {
    for (const ws of window.crowd) if (ws.readyState === 1) ws.send(JSON.stringify({ type: "set_hand", payload: { raised: true } }));
  });
  const hands = host.locator(".toast", { hasText: "raised their hand" });
  await until(async () => (/ and 2 others have raised their hands/.test(await hands.first().textContent()) ? true : undefined), "one note counts the hands");
  assert.equal(await hands.count(), 1, "one note, not one a hand");
  assert.ok(await host.locator(".toast").count() <= 4, "the knocks' toast and at most three passing notes");
  noPageErrors(host);
});

test("one's own row in People says what one's microphone does, also when the devices opened after entering", async (t) => {
  const open = opener(shared.browser, t);
  const meeting = await shared.server.meeting({ isLocked: true });
  const host = await open("host");
  // No review: the call is entered before the camera and microphone are open.
  await host.goto(`${meeting.hostRoomUrl}&displayName=Dr%20Host&precallReview=off`);
  await host.waitForSelector(".screen.call");
  await host.click("#people-toggle");
  const ownMuted = () => host.locator(".participant", { hasText: "Dr Host" }).locator(".participant-muted").count();
  await until(async () => (/^Mute/.test(await host.textContent("#microphone-toggle")) ? true : undefined), "the microphone opens");
  await until(async () => ((await ownMuted()) === 0 ? true : undefined), "one's own row says the microphone is on");
  await host.click("#microphone-toggle");
  await until(async () => ((await ownMuted()) === 1 ? true : undefined), "muted in the call, muted in People");
  await host.click("#microphone-toggle");
  await until(async () => ((await ownMuted()) === 0 ? true : undefined), "and on again");
  noPageErrors(host);
});
