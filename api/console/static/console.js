// agentq console: the board's live updates (the rest is htmx and plain forms).
// The board listens to the company's event stream; on any entry it asks htmx to fetch the
// columns again (at most every 150 ms: a burst of entries is one fetch).
(function () {
  "use strict";
  function live() {
    var status = document.getElementById("live");
    if (!status || !window.EventSource) { return; }
    var source = new EventSource(status.dataset.events);
    var timer = null;
    function changed() {
      if (timer) { return; }
      timer = setTimeout(function () {
        timer = null;
        document.body.dispatchEvent(new CustomEvent("agentq:changed"));
      }, 150);
    }
    status.dataset.types.split(" ").forEach(function (type) {
      source.addEventListener(type, changed);
    });
    source.onopen = function () { status.textContent = "Live updates: on"; status.dataset.state = "on"; };
    source.onerror = function () { status.textContent = "Live updates: reconnecting…"; status.dataset.state = "off"; };
    window.addEventListener("pagehide", function () { source.close(); });
  }
  // A form is sent once: its buttons are disabled once it is on its way (after the browser
  // has read the pressed button's value), so a double click is not a second command.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    setTimeout(function () {
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    }, 0);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", live);
  } else {
    live();
  }
})();
