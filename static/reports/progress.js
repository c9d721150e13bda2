// Polls the progress partial of a queued or running analysis and swaps it in; reloads the
// page once the analysis is done or failed. Without JavaScript the partial's "Refresh"
// link does the same job.
(function () {
  "use strict";

  // Most analyses finish within a few tenths of a second: ask soon, then less and less often
  // (seven requests in the first 3 s, then one each 1.5 s), so a quick verdict is on screen
  // at once and a slow one does not cost the server a request a tenth of a second.
  var FIRST_DELAYS_MS = [100, 150, 200, 300, 450, 700, 1000];
  var INTERVAL_MS = 1500;
  var MAX_INTERVAL_MS = 15000;
  var polls = 0;
  var delay = FIRST_DELAYS_MS[0];

  function nextDelay() {
    polls += 1;
    return polls < FIRST_DELAYS_MS.length ? FIRST_DELAYS_MS[polls] : INTERVAL_MS;
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
        delay = nextDelay();
        schedule();
      })
      .catch(function () {
        delay = Math.min(delay * 2, MAX_INTERVAL_MS);
        schedule();
      });
  }

  schedule();
})();
