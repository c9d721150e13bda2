// Copy buttons: <button data-copy-target="ID"> copies the text of the element with that id.
// A static file because the Content-Security-Policy forbids inline script.
(function () {
  "use strict";
  document.documentElement.classList.add("js");  // shows the .js-only copy buttons
  function flash(button, text) {
    var before = button.textContent;
    button.textContent = text;
    window.setTimeout(function () { button.textContent = before; }, 1500);
  }
  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "intake-offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) { return; }
    var text = source.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { flash(button, "Copied"); },
        function () { flash(button, fallbackCopy(text) ? "Copied" : "Select and copy"); }
      );
    } else {
      flash(button, fallbackCopy(text) ? "Copied" : "Select and copy");
    }
  });
}());
