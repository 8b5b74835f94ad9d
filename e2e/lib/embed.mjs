// A page of an integrator's: another origin (another port) that embeds a room with <whereby-embed>.
import http from "node:http";

/** A plain page on another origin (another port) that embeds a room with <whereby-embed>. */
export function embedPageServer() {
  const served = http.createServer((request, response) => {
    const url = new URL(request.url, "http://x");
    const room = url.searchParams.get("room");
    if (!room) {
      response.statusCode = 404;
      response.end();
      return;
    }
    // Attributes of the element beyond these: `attrs`, as `name=value` pairs joined by commas.
    const attrs = (url.searchParams.get("attrs") || "precallReview=off").split(",")
      .map((pair) => pair.split("=")).map(([name, value]) => `${name}="${value}"`).join(" ");
    response.setHeader("content-type", "text/html");
    response.end(`<!doctype html><title>Integrator</title><link rel="icon" href="data:,">
<script src="${new URL(room).origin}/embed.js"></script>
<whereby-embed id="room" room="${room.replace(/"/g, "&quot;")}" displayName="${url.searchParams.get("name")}" ${attrs} style="height:600px"></whereby-embed>
<script>
  window.events = [];
  const el = document.getElementById("room");
  for (const type of ["ready", "knock", "cancel_knock", "join", "leave", "participantupdate", "participant_join", "participant_leave",
                      "camera_toggle", "microphone_toggle", "screenshare_toggle", "knock_received", "knock_resolved", "precall_check_completed",
                      "precall_check_skipped", "meeting_end", "people_toggle", "chat_toggle", "connection_status_change",
                      "grant_device_permission", "deny_device_permission", "pip_toggle", "recording_status_change"]) {
    el.addEventListener(type, (event) => window.events.push({ type, detail: event.detail }));
  }
</script>`);
  });
  return new Promise((resolve) => served.listen(0, "127.0.0.1", () => resolve(served)));
}
