// Small enhancements every page may use; each page works without them. A static file,
// because the Content-Security-Policy forbids inline script.
//
// Copy buttons: <button class="copy js-only" data-copy="ID"> copies the text of the element
// with that id (the value of an input or a textarea). The buttons are hidden (.js-only)
// until this file runs. The clipboard API needs a secure context; elsewhere, or when it is
// refused, the text is selected and copied the old way, or left selected for Ctrl+C.
//
// Printing: every folded part (<details>) is opened for the printout and folded back after.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var status = null;  // one polite live region says what a copy button did

  function announce(text) {
    if (!status) {
      status = document.createElement("p");
      status.className = "visually-hidden";
      status.setAttribute("role", "status");
      document.body.appendChild(status);
    }
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
  }

  function flash(button, text) {
    if (!button.hasAttribute("data-copy-label")) {
      button.setAttribute("data-copy-label", button.textContent);
    }
    button.textContent = text;
    announce(text);
    window.clearTimeout(button.copyTimer);
    button.copyTimer = window.setTimeout(function () {
      button.textContent = button.getAttribute("data-copy-label");
    }, 2000);
  }

  function isField(el) {
    return el.tagName === "INPUT" || el.tagName === "TEXTAREA";
  }

  function select(el) {
    if (isField(el)) {
      el.focus();
      el.select();
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copyBySelection(el) {
    select(el);
    try {
      return document.execCommand("copy");
    } catch (e) {
      return false;
    }
  }

  function fallback(button, source) {
    if (copyBySelection(source)) {
      flash(button, "Copied");
    } else {
      select(source);  // left selected: the reader copies it with the keyboard
      flash(button, "Selected: press Ctrl+C to copy");
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var text = isField(source) ? source.value : source.textContent.replace(/\s+$/, "");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { flash(button, "Copied"); },
        function () { fallback(button, source); }
      );
    } else {
      fallback(button, source);
    }
  });

  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = Array.prototype.filter.call(document.querySelectorAll("details"), function (d) {
      return !d.open;
    });
    opened.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });
}());
