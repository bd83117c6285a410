// remotetask UI: the one script of our own. Everything works without it; it only
// keeps the jobs table's live refresh polite.
//
// The table (#live) polls with htmx. A refresh is skipped while the tab is hidden
// (it refreshes again when the tab comes back) and while jobs are ticked, so a
// refresh never throws away a selection the user is making.
document.addEventListener("htmx:beforeRequest", function (event) {
  var source = event.detail.elt;
  if (!source || source.id !== "live") {
    return;
  }
  if (document.hidden || source.querySelector("input[name=ids]:checked")) {
    event.preventDefault();
  }
});

// A refresh already on its way when a job was ticked must not replace the table either.
document.addEventListener("htmx:beforeSwap", function (event) {
  var target = event.detail.target;
  if (target && target.id === "live" && target.querySelector("input[name=ids]:checked")) {
    event.detail.shouldSwap = false;
  }
});
