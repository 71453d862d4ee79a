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

  // A stream can go silent without an error (a frozen server, a dead network path): the server sends
  // a keepalive event every data-keepalive-seconds, so one silent for twice as long, plus slack, is
  // dead. Close it and report an error, so that the SSE extension reconnects as after a dropped
  // connection and the indicator says so. Every connection attempt is watched, reconnections too.
  const createEventSource = htmx.createEventSource;
  htmx.createEventSource = function (url) {
    const source = createEventSource(url);
    const host = document.querySelector("[data-keepalive-seconds]");
    const keepalive = host ? parseFloat(host.dataset.keepaliveSeconds) : NaN;
    if (keepalive > 0) watchForSilence(source, (2 * keepalive + 2) * 1000);
    return source;
  };

  function watchForSilence(source, silentAfterMs) {
    let timer;
    function giveUp() {
      if (source.readyState === EventSource.CLOSED) return; // closed on purpose (sse-close, page left)
      source.close();
      source.dispatchEvent(new Event("error"));
    }
    function heardFrom() {
      clearTimeout(timer);
      timer = setTimeout(giveUp, silentAfterMs);
    }
    ["open", "keepalive", "queue-changed"].forEach(function (name) {
      source.addEventListener(name, heardFrom);
    });
    heardFrom();
  }

  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt.hasAttribute("data-refresh-on-reconnect")) {
      event.detail.headers["X-Background-Refresh"] = "true";
    }
  });
})();
