// Glue only: the live-queue indicator, a refresh after the event stream reconnects, marking
// the queue's own refreshes so that they do not count as the person being active, and where focus
// goes after a form the person submitted is swapped.
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

  // After a submission's answer is swapped in, focus goes to the first invalid field of the request's
  // own target, else to what the answer marks with data-focus-after-swap (a decision's outcome, a
  // request's confirmation). Marks under [data-refresh-on-reconnect] come last: background refreshes
  // replace that content (a decided row leaves the queue), so the lasting decision note is preferred.
  // Background refreshes themselves never move focus: only answers to a submit do.
  const settled = new WeakMap();

  function focusAfter(roots, target) {
    const own = roots.filter((root) => root === target || (root.id && target && root.id === target.id));
    for (const root of own) {
      const invalid = root.querySelector("[aria-invalid='true']");
      if (invalid) return invalid.focus();
    }
    const marked = roots.flatMap((root) =>
      (root.matches("[data-focus-after-swap]") ? [root] : []).concat(
        Array.from(root.querySelectorAll("[data-focus-after-swap]")),
      ),
    ).filter((elt) => elt.isConnected);
    const lasting = marked.filter((elt) => !elt.closest("[data-refresh-on-reconnect]"));
    const goal = lasting[0] || marked[0];
    if (goal) goal.focus();
  }

  // out-of-band parts are swapped before the answer settles, and their settling is not reported
  let outOfBand = [];
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    const target = event.detail.target;
    if (target && !outOfBand.includes(target)) outOfBand.push(target);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    const detail = event.detail;
    const cause = detail.requestConfig && detail.requestConfig.triggeringEvent;
    const parts = outOfBand;
    if (!cause || cause.type !== "submit" || !detail.xhr) return;
    // one answer settles several elements in a row: decide once, after the last
    let roots = settled.get(detail.xhr);
    if (!roots) {
      roots = [];
      settled.set(detail.xhr, roots);
      outOfBand = [];
      setTimeout(function () { focusAfter(roots.concat(parts), detail.target); }, 0);
    }
    roots.push(event.target);
  });
})();
