// Live pages: apply versioned panel fragments, ask for a snapshot after a gap, show stale/disconnected.
(function () {
  "use strict";
  var versions = {};          // panel name -> last version applied
  var lastMessageAt = 0;
  var STALE_AFTER_MS = 6000;  // the server re-sends the status panel every 2 s

  function banner(show, text) {
    var el = document.getElementById("connection-banner");
    if (!el) return;
    if (text) el.textContent = text;
    el.hidden = !show;
  }

  document.addEventListener("htmx:wsOpen", function () { banner(false); lastMessageAt = Date.now(); });
  document.addEventListener("htmx:wsClose", function () {
    banner(true, "Disconnected: live updates stopped. Reconnecting…");
  });
  document.addEventListener("htmx:wsError", function () {
    banner(true, "Disconnected: live updates stopped. Reconnecting…");
  });

  document.addEventListener("htmx:wsBeforeMessage", function (evt) {
    lastMessageAt = Date.now();
    banner(false);
    var template = document.createElement("template");
    template.innerHTML = evt.detail.message;
    var gap = false;
    template.content.querySelectorAll("[data-panel]").forEach(function (el) {
      var name = el.dataset.panel;
      var version = parseInt(el.dataset.version, 10);
      var snapshot = el.dataset.snapshot === "1";
      if (!snapshot && name in versions && version !== versions[name] + 1) gap = true;
      else versions[name] = version;
    });
    if (gap) {
      evt.preventDefault();   // do not apply a panel that skipped a version: fetch the whole state again
      evt.detail.socketWrapper.send(JSON.stringify({ type: "resync" }));
    }
  });

  setInterval(function () {
    var live = document.querySelector("[ws-connect]");
    if (live && lastMessageAt && Date.now() - lastMessageAt > STALE_AFTER_MS) {
      banner(true, "Stale: no update from the server for " + Math.round((Date.now() - lastMessageAt) / 1000) + " s.");
    }
  }, 1000);
})();
