// remotetask UI: the one script of our own. Every page works without it; it makes the
// live parts polite and honest.
//
// - Live regions ([data-live]) poll with htmx and are merged in place ("patch" swap):
//   an element whose server HTML did not change is kept as it is, so focus, ticked
//   boxes and open <details> survive; a changed one is replaced, and focus and ticks
//   move to its replacement (matched by id and value).
// - "Updated N s ago" under each live region, and "Connection lost" when a refresh
//   fails; polling pauses while the tab is hidden.
// - Times ([data-ago]) read "3 min ago"; their title keeps the UTC time.
(function () {
  "use strict";
  var pristine = new WeakMap();

  function remember(root) {
    root.querySelectorAll("[id]").forEach(function (el) {
      pristine.set(el, el.cloneNode(true));
    });
  }

  function same(oldEl, newEl) {
    var before = pristine.get(oldEl);
    return !!before && before.isEqualNode(newEl);
  }

  function carryOver(oldEl, newEl) {
    var active = document.activeElement;
    var focusId = active && oldEl.contains(active) ? active.id : null;
    var ticked = {};
    oldEl.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      if (box.id) { ticked[box.id] = box.checked; }
    });
    oldEl.replaceWith(newEl);
    pristine.set(newEl, newEl.cloneNode(true));
    remember(newEl);
    newEl.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      if (box.id in ticked) { box.checked = ticked[box.id]; }
    });
    if (focusId) {
      var again = document.getElementById(focusId);
      if (again) { again.focus({ preventScroll: true }); }
    }
    showTimes(newEl);
  }

  function patch(oldParent, newParent) {
    var olds = {};
    Array.prototype.forEach.call(oldParent.children, function (child) {
      if (child.id) { olds[child.id] = child; }
    });
    var wanted = Array.prototype.slice.call(newParent.children);
    var keep = [];
    wanted.forEach(function (fresh, index) {
      var old = fresh.id ? olds[fresh.id] : oldParent.children[index];
      if (old && !old.id && fresh.id) { old = null; }
      if (old && same(old, fresh)) {
        keep.push(old);
      } else if (old && fresh.hasAttribute("data-keyed") && old.tagName === fresh.tagName) {
        patch(old, fresh);
        pristine.set(old, fresh.cloneNode(true));
        keep.push(old);
      } else if (old) {
        var marker = document.createComment("");
        old.before(marker);
        carryOver(old, fresh);
        marker.remove();
        keep.push(fresh);
      } else {
        keep.push(fresh);
      }
    });
    keep.forEach(function (node, index) {
      if (oldParent.children[index] !== node) {
        oldParent.insertBefore(node, oldParent.children[index] || null);
        remember(node);
        pristine.set(node, node.cloneNode(true));
        showTimes(node);
      }
    });
    while (oldParent.children.length > keep.length) {
      oldParent.lastElementChild.remove();
    }
  }

  htmx.defineExtension("patch", {
    isInlineSwap: function (style) { return style === "patch"; },
    handleSwap: function (style, target, fragment) {
      if (style !== "patch") { return false; }
      var fresh = fragment.firstElementChild;
      if (!fresh || fresh.id !== target.id) { return false; }
      var now = fresh.getAttribute("data-now");
      if (now) { target.setAttribute("data-now", now); setClock(now); }
      patch(target, fresh);
      return [target];
    }
  });

  // -- honest live regions ------------------------------------------------------------
  function liveRoot(elt) { return elt && elt.closest ? elt.closest("[data-live]") : null; }

  function mark(root, ok) {
    if (!root) { return; }
    if (ok) { root.setAttribute("data-updated", String(Date.now())); }
    var lost = root.querySelector("[data-live-lost]");
    if (lost) { lost.hidden = ok; }
    var note = root.querySelector(".live-note");
    if (note) { note.classList.toggle("stale", !ok); }
    tick();
  }

  document.addEventListener("htmx:afterRequest", function (event) {
    var root = liveRoot(event.detail.elt);
    if (root && event.detail.elt === root) { mark(root, event.detail.successful); }
  });
  ["htmx:sendError", "htmx:timeout", "htmx:responseError"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var root = liveRoot(event.detail.elt);
      if (root && event.detail.elt === root) { mark(root, false); }
    });
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (document.hidden && event.detail.elt.hasAttribute("data-live")) { event.preventDefault(); }
  });

  function tick() {
    document.querySelectorAll("[data-live]").forEach(function (root) {
      var text = root.querySelector("[data-live-note]");
      if (!text) { return; }
      var at = Number(root.getAttribute("data-updated") || 0);
      var secs = Math.max(0, Math.round((Date.now() - at) / 1000));
      text.textContent = secs < 2 ? "Updated just now" : "Updated " + words(secs) + " ago";
    });
    showTimes(document);
  }

  // -- relative times ------------------------------------------------------------------
  var offset = 0;
  function setClock(serverNow) { offset = Number(serverNow) * 1000 - Date.now(); }

  function words(secs) {
    if (secs < 60) { return secs + " s"; }
    var mins = Math.floor(secs / 60);
    if (mins < 60) { return mins + " min"; }
    var hours = Math.floor(mins / 60);
    if (hours < 48) { return hours + " h " + (mins % 60) + " min"; }
    return Math.floor(hours / 24) + " d";
  }

  function showTimes(root) {
    var now = (Date.now() + offset) / 1000;
    root.querySelectorAll("time[data-ago]").forEach(function (el) {
      var at = Number(el.getAttribute("datetime"));
      if (!el.getAttribute("datetime") || !isFinite(at)) { return; }
      if (!el.title) { el.title = el.textContent.trim() + " UTC"; }
      var delta = Math.round(now - at);
      el.textContent = delta >= 0 ? words(delta) + " ago" : "in " + words(-delta);
    });
  }

  function start() {
    var stamp = document.querySelector("[data-now]");
    if (stamp) { setClock(stamp.getAttribute("data-now")); }
    document.querySelectorAll("[data-live]").forEach(function (root) {
      root.setAttribute("data-updated", String(Date.now()));
      remember(root);
    });
    showTimes(document);
    setInterval(tick, 1000);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
