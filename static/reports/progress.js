// Polls the progress partial of a queued or running analysis and swaps it in; reloads the
// page once the analysis is done or failed. Without JavaScript the partial's "Refresh"
// link does the same job.
(function () {
  "use strict";

  var INTERVAL_MS = 1500;
  var MAX_INTERVAL_MS = 15000;
  var delay = INTERVAL_MS;

  document.documentElement.classList.add("js");

  function schedule() {
    window.setTimeout(poll, delay);
  }

  function poll() {
    var box = document.getElementById("analysis-status");
    if (!box || !box.getAttribute("data-status-url")) {
      return;  // a shared page: the owner's status endpoint is not for it; "Refresh" is
    }
    fetch(box.getAttribute("data-status-url"), {
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
        delay = INTERVAL_MS;
        schedule();
      })
      .catch(function () {
        delay = Math.min(delay * 2, MAX_INTERVAL_MS);
        schedule();
      });
  }

  schedule();
})();
