// Glue only: the live-queue indicator, a refresh after the event stream reconnects, and marking
// the queue's own refreshes so that they do not count as the person being active.
(function () {
  function indicator(state, text) {
    const badge = document.getElementById("live-state");
    if (badge) {
      badge.dataset.state = state;
      badge.textContent = text;
    }
  }

  document.addEventListener("htmx:sseOpen", function (event) {
    const source = event.target;
    // changes made while the stream was down were never signalled: fetch the rows again
    if (source.dataset.opened) {
      const refresher = source.querySelector("[data-refresh-on-reconnect]");
      if (refresher) htmx.trigger(refresher, "queue-reconnected");
    }
    source.dataset.opened = "true";
    indicator("open", "Live");
  });

  document.addEventListener("htmx:sseError", function () {
    indicator("reconnecting", "Reconnecting…");
  });

  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt.hasAttribute("data-refresh-on-reconnect")) {
      event.detail.headers["X-Background-Refresh"] = "true";
    }
  });
})();
