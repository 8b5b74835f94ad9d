// A crowd for a large room: people who come from signalling connections alone (no camera, no call
// screen), all from one page, where a browser page per person would be too heavy. They stay while
// the page is open (`window.crowd` holds their sockets).

/**
 * Each of `names` joins `roomName` from `page` (opened on the server's own origin, `base`, which
 * the server lets open its WebSocket): into an open room, or knocking at a locked one's door, and
 * coming in once let in, as the client does. Resolves once everyone is in or knocking.
 */
export async function crowdJoins(page, base, roomName, names) {
  if (!page.url().startsWith(base)) await page.goto(base);
  await page.evaluate(({ roomName, names }) => Promise.all(names.map((displayName) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}/v1/signal`);
    const send = (type, payload) => ws.send(JSON.stringify({ type, payload }));
    ws.onopen = () => send("join_room", { roomName, displayName });
    ws.onmessage = ({ data }) => {
      const { type, payload } = JSON.parse(data);
      if (type === "room_joined" && payload.error === "room_locked") send("knock_room", {});
      else if (type === "room_joined" && payload.error) reject(new Error(data));
      else if (type === "room_joined" || type === "knock_sent") resolve();
      else if (type === "knock_handled" && payload.resolution === "accepted") send("join_room", { roomName, displayName, roomKey: payload.roomKey });
      else if (type === "error") reject(new Error(data));
    };
    (window.crowd ??= []).push(ws);
  }))), { roomName, names });
}
