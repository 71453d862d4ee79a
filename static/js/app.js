// Glue only: the live-queue indicator, and a refresh after the event stream reconnects.
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
})();
