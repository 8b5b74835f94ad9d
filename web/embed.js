// <whereby-embed room="https://your-anteroom/room-name?roomKey=..." displayName="Ann" minimal ...>
// The element of Whereby's embed, for anteroom's room URLs: it shows the room in an iframe, re-emits
// the room's events as DOM events on the element (event.detail is the payload), and offers the
// room's commands as methods. docs/embedding.md lists them.
(() => {
  if (customElements.get("whereby-embed")) return;

  // Attributes passed on to the room as URL parameters: the names Whereby's element passes on,
  // so a page written for it gives the room the same URL. docs/embedding.md says which the room
  // acts on; it accepts the others and ignores them.
  const PARAMS = [
    "displayName", "externalId", "metadata", "audio", "video", "precallReview", "precallCeremony",
    "precallCeremonyCanSkip", "skipMediaPermissionPrompt", "minimal", "embed", "topToolbar",
    "bottomToolbar", "participantCount", "locking", "people", "chat", "screenshare", "leaveButton",
    "background", "logo", "roomKey",
    "lang", "avatarUrl", "groups", "emojiSkinTone", "virtualBackgroundUrl", "cameraEffect", "aec",
    "agc", "audioDenoiser", "autoHideSelfView", "autoSpotlight", "breakout", "callQualityMonitoring",
    "cameraAccess", "emptyRoomInvitation", "floatSelf", "help", "hideLegend", "localization",
    "lowData", "moreButton", "personality", "pipButton", "precallPermissionHelpLink",
    "precallPermissionsHelpLink", "reactions",
    "recording", "roomIntegrations", "settingsButton", "subgridLabels", "timer", "toolbarDarkText",
    "toolbarText",
  ];

  class WherebyEmbed extends HTMLElement {
    static get observedAttributes() {
      return ["room", "title", ...PARAMS.map((p) => p.toLowerCase())];
    }

    connectedCallback() {
      this.render();
      this.onMessage = (event) => {
        if (!this.iframe || event.source !== this.iframe.contentWindow) return;
        if (event.origin !== this.roomOrigin) return;
        const { type, payload } = event.data || {};
        if (typeof type !== "string") return;
        this.dispatchEvent(new CustomEvent(type, { detail: payload || {} }));
      };
      window.addEventListener("message", this.onMessage);
    }

    disconnectedCallback() {
      window.removeEventListener("message", this.onMessage);
    }

    attributeChangedCallback() {
      if (this.isConnected) this.render();
    }

    render() {
      const room = this.getAttribute("room");
      if (!room) return;
      let url;
      try {
        url = new URL(room, window.location.href);
      } catch {
        return;
      }
      for (const name of PARAMS) {
        const value = this.getAttribute(name) ?? this.getAttribute(name.toLowerCase());
        if (value !== null) url.searchParams.set(name, value);
      }
      url.searchParams.set("embedOrigin", window.location.origin);
      if (!this.iframe) {
        this.iframe = document.createElement("iframe");
        this.iframe.setAttribute("allow", "camera; microphone; fullscreen; speaker; display-capture; autoplay; compute-pressure; screen-wake-lock");
        this.iframe.style.cssText = "border:0;width:100%;height:100%;display:block;";
        this.style.display ||= "block";
        this.append(this.iframe);
      }
      // What a screen reader names the frame (Whereby's element does the same).
      this.iframe.title = this.getAttribute("title") || "Video calling component";
      if (this.iframe.src === url.toString()) return;
      this.roomOrigin = url.origin;
      this.iframe.src = url.toString();
    }

    send(command, ...args) {
      this.iframe?.contentWindow?.postMessage({ command, args }, this.roomOrigin);
    }

    knock() { this.send("knock"); }
    cancelKnock() { this.send("cancel_knock"); }
    leaveRoom() { this.send("leave_room"); }
    endMeeting() { this.send("end_meeting"); }
    toggleCamera(enabled) { this.send("toggle_camera", enabled); }
    toggleMicrophone(enabled) { this.send("toggle_microphone", enabled); }
    toggleScreenshare(enabled) { this.send("toggle_screenshare", enabled); }
    togglePeople(enabled) { this.send("toggle_people", enabled); }
    toggleChat(enabled) { this.send("toggle_chat", enabled); }
    // Whereby's takes the pane to open; anteroom's settings have one.
    openSettings() { this.send("open_settings"); }
    // A host's recording in their own browser, in a meeting created for local recording.
    startRecording() { this.send("start_recording"); }
    stopRecording() { this.send("stop_recording"); }
    // Ours: a host panel of the integrator's own.
    admit(clientId) { this.send("admit", clientId); }
    reject(clientId, message) { this.send("reject", clientId, message); }
    hold(clientId, message) { this.send("hold", clientId, message); }
    admitAll() { this.send("admit_all"); }
    // Ours, named as Whereby's core SDK names a host's requests of others' microphones and cameras.
    muteParticipants(clientIds) { this.send("ask_media", clientIds, "mute"); }
    turnOffParticipantCameras(clientIds) { this.send("ask_media", clientIds, "turn_off_camera"); }
    askToSpeak(clientId) { this.send("ask_media", [clientId], "unmute"); }
    askToTurnOnCamera(clientId) { this.send("ask_media", [clientId], "turn_on_camera"); }
  }

  // Whereby's methods for what anteroom does not have: they say so instead of throwing, so an
  // integrator's code written for Whereby goes on.
  for (const name of ["startStreaming", "stopStreaming",
    "startLiveTranscription", "stopLiveTranscription", "toggleBreakout"]) {
    WherebyEmbed.prototype[name] = () => console.warn(`<whereby-embed>: ${name} is not available in anteroom`);
  }

  customElements.define("whereby-embed", WherebyEmbed);
})();
