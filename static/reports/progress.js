// Watches the progress partial of a queued or running analysis and swaps it in; reloads
// the page once the analysis is done or failed. Without JavaScript the partial's "Refresh"
// link does the same job.
//
// The request says which status the page shows (?shown=), and the server answers when that
// status changes, or after a few seconds (dkim2web/reports/waiting.py): so the page asks at
// once, and again at once after a change. While nothing changes, or when the server could
// not wait (every wait of its process taken), it asks less and less often.
(function () {
  "use strict";

  // After answers that changed nothing, the next request waits 100 ms, then 150, 200 ... (the
  // seven delays add up to 3 s), then 1.5 s each time, so a slow analysis does not cost the
  // server a request a tenth of a second even when it answers without waiting.
  var FIRST_DELAYS_MS = [100, 150, 200, 300, 450, 700, 1000];
  var INTERVAL_MS = 1500;
  var MAX_INTERVAL_MS = 15000;
  var polls = 0;
  var delay = 0;

  function nextDelay() {
    var next = polls < FIRST_DELAYS_MS.length ? FIRST_DELAYS_MS[polls] : INTERVAL_MS;
    polls += 1;
    return next;
  }

  document.documentElement.classList.add("js");

  function schedule() {
    window.setTimeout(poll, delay);
  }

  function poll() {
    var box = document.getElementById("analysis-status");
    if (!box || !box.getAttribute("data-status-url")) {
      return;  // a shared page: the owner's status endpoint is not for it; "Refresh" is
    }
    var shown = box.getAttribute("data-status") || "";
    var url = box.getAttribute("data-status-url");
    url += (url.indexOf("?") < 0 ? "?" : "&") + "shown=" + encodeURIComponent(shown);
    fetch(url, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Accept": "text/html" }
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var template = document.createElement("template");
        template.innerHTML = html.trim();
        var fresh = template.content.firstElementChild;
        if (!fresh || fresh.id !== "analysis-status") {
          throw new Error("unexpected answer");
        }
        var status = fresh.getAttribute("data-status");
        if (status === "done" || status === "failed") {
          window.location.reload();
          return;
        }
        box.replaceWith(fresh);
        delay = status !== shown ? 0 : nextDelay();
        schedule();
      })
      .catch(function () {
        delay = Math.min(Math.max(delay, FIRST_DELAYS_MS[0]) * 2, MAX_INTERVAL_MS);
        schedule();
      });
  }

  schedule();
})();
