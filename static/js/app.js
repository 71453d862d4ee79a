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
      const notices = source.querySelector("[data-notices]");
      if (notices) htmx.trigger(notices, "notices-reconnected");
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
    ["open", "keepalive", "queue-changed", "request-decided"].forEach(function (name) {
      source.addEventListener(name, heardFrom);
    });
    heardFrom();
  }

  document.addEventListener("htmx:configRequest", function (event) {
    const elt = event.detail.elt;
    if (elt.hasAttribute("data-refresh-on-reconnect") || elt.hasAttribute("data-notices")) {
      event.detail.headers["X-Background-Refresh"] = "true";
    }
  });

  // After a submission's answer is swapped in, focus goes to the first invalid field of the request's
  // own target, else to what the answer marks with data-focus-after-swap (a decision's outcome, a
  // request's confirmation). Marks in the live queue's rows (#queue-rows) come last: background refreshes
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
    const lasting = marked.filter((elt) => !elt.closest("#queue-rows"));
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

// Times and the rows in hand. The server writes times in UTC (the title keeps that value); here they
// are shown in the viewer's zone, relative ages are kept current, decision notes are kept few, and
// the queue's refresh names the rows the viewer is working on so that the server keeps them in place.
(function () {
  const MAX_DECISION_NOTES = 5;
  const AGE_REFRESH_MS = 30000;

  function age(moment) {
    const seconds = Math.floor((Date.now() - moment.getTime()) / 1000);
    if (seconds < 60) return "just now";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    return Math.floor(seconds / 86400) + " d ago";
  }

  function each(root, selector, action) {
    if (root.matches && root.matches(selector)) action(root);
    if (root.querySelectorAll) root.querySelectorAll(selector).forEach(action);
  }

  function showAges(root) {
    each(root, "time[data-age]", function (element) {
      const moment = new Date(element.getAttribute("datetime"));
      if (!isNaN(moment)) element.textContent = age(moment);
    });
  }

  function showTimes(root) {
    each(root, "time[data-local]", function (element) {
      const moment = new Date(element.getAttribute("datetime"));
      if (!isNaN(moment)) {
        element.textContent = moment.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
      }
    });
    showAges(root);
    const notes = document.querySelectorAll("#decisions > .decision-note");
    for (let i = MAX_DECISION_NOTES; i < notes.length; i++) notes[i].remove();
  }

  htmx.onLoad(showTimes);
  setInterval(function () { showAges(document); }, AGE_REFRESH_MS);

  function rowsInHand() {
    const held = [];
    document.querySelectorAll("#queue-rows tr[data-action-id]").forEach(function (row) {
      const comment = row.querySelector("input[name=comment]");
      if (row.classList.contains("decided-elsewhere") || row.contains(document.activeElement) ||
          (comment && comment.value.trim())) {
        held.push(row.dataset.actionId);
      }
    });
    return held;
  }

  // a row someone else decided stays until its note is dismissed (or the page is reloaded); so does
  // a notice about one's own request
  document.addEventListener("click", function (event) {
    const button = event.target.closest && event.target.closest("[data-dismiss-row]");
    if (button) button.closest("tr").remove();
    const notice = event.target.closest && event.target.closest("[data-dismiss-toast]");
    if (notice) notice.closest(".toast").remove();
  });

  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.elt.hasAttribute("data-refresh-on-reconnect")) return;
    const held = rowsInHand();
    if (held.length) event.detail.parameters["keep"] = held.join(",");
  });
})();

// A decision and a background refresh of the queue must not cross. A refresh swapped in while a
// decision is on its way detaches the row the decision's answer goes into, so its outcome would land
// nowhere and focus would not move to it. A refresh arriving then is held back, and asked for again
// once the decision's answer has settled in the row.
(function () {
  const decisions = new Set();
  let refreshOwed = false;

  function isRefresh(elt) {
    return elt && elt.hasAttribute && elt.hasAttribute("data-refresh-on-reconnect");
  }

  function refreshIfOwed() {
    if (decisions.size || !refreshOwed) return;
    refreshOwed = false;
    const refresher = document.querySelector("[data-refresh-on-reconnect]");
    if (refresher) htmx.trigger(refresher, "queue-reconnected");
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    const elt = event.detail.elt;
    if (elt && elt.matches && elt.matches("form.decide")) decisions.add(event.detail.xhr);
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    // the event is dispatched on the swap's target; the element that asked is in the request config
    const asker = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (decisions.size && isRefresh(asker)) {
      event.detail.shouldSwap = false;
      refreshOwed = true;
    }
  });

  // an answer that is swapped settles; one that is not (a server error) never does
  document.addEventListener("htmx:afterSettle", function (event) {
    if (decisions.delete(event.detail.xhr)) setTimeout(refreshIfOwed, 0);
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const xhr = event.detail.xhr;
    if (decisions.has(xhr) && (!xhr || xhr.status === 0 || xhr.status >= 500)) {
      decisions.delete(xhr);
      refreshIfOwed();
    }
  });
})();

// Queue keyboard (listed on the page, workflow/_queue_shortcuts.html): j and k move a selection over
// the queue's rows, o or Enter open the selected request, a approves it, r goes to its comment (needed
// to reject; Enter there rejects rather than approves). Nothing fires while the person types in a
// field. The queue is live: the selection follows its request's id through each refresh, and when that
// request has left, stays at the same place in the list.
(function () {
  const ROW_PREFIX = "action-row-";
  let selectedId = null;
  let selectedIndex = -1;

  function rows() {
    return Array.from(document.querySelectorAll("#queue-rows tbody > tr[id^='" + ROW_PREFIX + "']"));
  }

  function selectedRow() {
    return selectedId ? document.getElementById(ROW_PREFIX + selectedId) : null;
  }

  function isTyping(target) {
    if (!target || !target.closest) return false;
    if (target.isContentEditable) return true;
    const field = target.closest("input, textarea, select");
    return !!field && !(field.matches("input[type=checkbox], input[type=radio], input[type=button], input[type=submit]"));
  }

  function mark(row, focus) {
    document.querySelectorAll("#queue-rows tr.selected").forEach(function (other) {
      if (other !== row) {
        other.classList.remove("selected");
        other.removeAttribute("aria-current");
      }
    });
    row.classList.add("selected");
    row.setAttribute("aria-current", "true");
    row.tabIndex = -1;
    selectedId = row.id.slice(ROW_PREFIX.length);
    selectedIndex = rows().indexOf(row);
    if (focus) {
      row.focus();
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const current = selectedRow();
    let index = current ? all.indexOf(current) + step : (step > 0 ? 0 : all.length - 1);
    if (!current && selectedIndex >= 0) index = Math.min(selectedIndex, all.length - 1);
    mark(all[Math.max(0, Math.min(index, all.length - 1))], true);
  }

  function open(row) {
    const link = row.querySelector("a[href^='/actions/']");
    if (link) link.click();
  }

  function approve(row) {
    const button = row.querySelector("form.decide button.approve");
    if (button && !button.disabled) button.click();
  }

  function startRejecting(row) {
    const comment = row.querySelector("form.decide input[name=comment]");
    if (!comment) return;
    comment.form.dataset.intent = "rejected";
    comment.focus();
  }

  function toggleHelp() {
    const help = document.getElementById("queue-shortcuts");
    if (help) help.open = !help.open;
  }

  document.addEventListener("keydown", function (event) {
    if (!document.getElementById("queue-rows") || event.defaultPrevented) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    // in the decision's fields after r (the comment, and any other it has): Enter rejects rather
    // than approving (the form's first button), Escape goes back to the row
    const form = target.closest && target.closest("form.decide");
    if (form && isTyping(target)) {
      if (event.key === "Enter" && form.dataset.intent === "rejected") {
        event.preventDefault();
        const reject = form.querySelector("button.reject");
        if (reject && !reject.disabled) reject.click();
      } else if (event.key === "Escape") {
        const row = form.closest("tr");
        if (row) mark(row, true);
      }
      return;
    }
    if (isTyping(target)) return;
    if (event.key === "?") {
      event.preventDefault();
      return toggleHelp();
    }
    if (event.shiftKey) return;
    if (event.key === "j") { event.preventDefault(); return move(1); }
    if (event.key === "k") { event.preventDefault(); return move(-1); }
    const row = selectedRow();
    if (!row) return;
    // Enter keeps its own meaning on a link, a button or a summary; on the row it opens the request
    const ownsEnter = target.closest && target.closest("a, button, summary, [role=button]");
    if (event.key === "o" || (event.key === "Enter" && !ownsEnter)) { event.preventDefault(); return open(row); }
    if (event.key === "a") { event.preventDefault(); return approve(row); }
    if (event.key === "r") { event.preventDefault(); return startRejecting(row); }
  });

  // the intent to reject lasts while the person is in the decision's fields
  document.addEventListener("focusout", function (event) {
    const form = event.target.closest && event.target.closest("form.decide");
    if (form && !(event.relatedTarget && form.contains(event.relatedTarget))) delete form.dataset.intent;
  });

  // a click on a row selects it too, so that the keys go on from there
  document.addEventListener("click", function (event) {
    const row = event.target.closest && event.target.closest("#queue-rows tbody > tr[id^='" + ROW_PREFIX + "']");
    if (row) mark(row, false);
  });

  // a refresh replaces the rows: select the same request again, or the one now in its place; focus
  // comes back to the row only when it was there
  let rowHadFocus = false;
  document.addEventListener("htmx:beforeSwap", function () {
    const row = selectedRow();
    rowHadFocus = !!row && document.activeElement === row;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!selectedId) return;
    const row = selectedRow();
    const focusBack = rowHadFocus && (document.activeElement === document.body || !document.activeElement);
    rowHadFocus = false;
    if (row) return mark(row, focusBack);
    const all = rows();
    if (all.length && selectedIndex >= 0) mark(all[Math.min(selectedIndex, all.length - 1)], focusBack);
  });
})();
