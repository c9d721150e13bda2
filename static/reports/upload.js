// Enhances the upload form: drop files on it, see what was chosen, and guess the envelope
// from the message's Return-Path / Delivered-To / X-Original-To fields, read in the browser
// (nothing is sent until "Analyse"). The form works without this script.
(function () {
  "use strict";

  var form = document.querySelector("[data-upload-form]");
  if (!form) {
    return;
  }
  document.documentElement.classList.add("js");

  var input = form.querySelector("input[type=file]");
  var zone = form.querySelector("[data-dropzone]");
  var chosen = form.querySelector("[data-chosen]");
  var paste = form.querySelector("textarea[name=raw_text]");
  var mailFrom = form.querySelector("input[name=mail_from]");
  var rcptTo = form.querySelector("textarea[name=rcpt_to]");
  var note = form.querySelector("[data-hint-note]");
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
  var maxFiles = parseInt(form.getAttribute("data-max-files"), 10) || 0;
  var HEAD_BYTES = 256 * 1024;

  function size(n) {
    if (n < 1024) { return n + " bytes"; }
    if (n < 1024 * 1024) { return (n / 1024).toFixed(1) + " KB"; }
    return (n / (1024 * 1024)).toFixed(1) + " MB";
  }

  function showChosen() {
    var files = input.files || [];
    chosen.textContent = "";
    chosen.hidden = files.length === 0;
    for (var k = 0; k < files.length; k++) {
      var li = document.createElement("li");
      li.textContent = files[k].name + " (" + size(files[k].size) + ")";
      if (maxBytes && files[k].size > maxBytes) {
        li.className = "too-large";
        li.textContent += ": larger than the limit of " + size(maxBytes);
      }
      chosen.appendChild(li);
    }
    if (maxFiles && files.length > maxFiles) {
      var warn = document.createElement("li");
      warn.className = "too-large";
      warn.textContent = files.length + " files chosen; at most " + maxFiles + " at once.";
      chosen.appendChild(warn);
    }
  }

  // -- envelope hints -----------------------------------------------------------------------

  function headerFields(text) {
    var end = text.search(/\r?\n\r?\n/);
    var head = end < 0 ? text : text.slice(0, end);
    var fields = [];
    head.split(/\r?\n/).forEach(function (line) {
      if (/^[ \t]/.test(line) && fields.length) {
        fields[fields.length - 1] += " " + line.trim();
      } else {
        fields.push(line);
      }
    });
    return fields;
  }

  function hintsFrom(text) {
    var hints = { mailFrom: "", rcptTo: [], sources: [] };
    headerFields(text).forEach(function (field) {
      var colon = field.indexOf(":");
      if (colon <= 0) { return; }
      var name = field.slice(0, colon).trim().toLowerCase();
      var value = field.slice(colon + 1).trim();
      if (!value) { return; }
      if (name === "return-path" && !hints.mailFrom) {
        hints.mailFrom = value;
        hints.sources.push("Return-Path");
      } else if (name === "delivered-to" || name === "x-original-to") {
        if (hints.rcptTo.indexOf(value) < 0) { hints.rcptTo.push(value); }
        var label = name === "delivered-to" ? "Delivered-To" : "X-Original-To";
        if (hints.sources.indexOf(label) < 0) { hints.sources.push(label); }
      }
    });
    return hints;
  }

  function mayFill(field) {
    return !field.value.trim() || field.getAttribute("data-guess") === "1";
  }

  function fill(field, value) {
    field.value = value;
    field.setAttribute("data-guess", "1");
    field.classList.add("guessed");
  }

  function clearGuess(field) {
    if (field.getAttribute("data-guess") === "1") {
      field.value = "";
      field.removeAttribute("data-guess");
      field.classList.remove("guessed");
    }
  }

  function applyHints(hints) {
    var filled = false;
    if (hints.mailFrom && hints.rcptTo.length && mayFill(mailFrom) && mayFill(rcptTo)) {
      fill(mailFrom, hints.mailFrom);
      fill(rcptTo, hints.rcptTo.join("\n"));
      filled = true;
    }
    if (filled) {
      note.textContent = "Filled in from the message's " + hints.sources.join(", ") +
        " fields. These are guesses: the receiving server writes them and they may not " +
        "match the real envelope. Check them before analysing.";
      note.hidden = false;
    } else {
      note.hidden = true;
    }
  }

  function dropHints() {
    clearGuess(mailFrom);
    clearGuess(rcptTo);
    note.hidden = true;
  }

  function readHints() {
    var files = input.files || [];
    var pasted = paste && paste.value.trim() ? paste.value : "";
    if (files.length + (pasted ? 1 : 0) !== 1) {
      dropHints();
      return;
    }
    if (pasted) {
      applyHints(hintsFrom(pasted));
      return;
    }
    files[0].slice(0, HEAD_BYTES).text().then(function (text) {
      applyHints(hintsFrom(text));
    }, dropHints);
  }

  [mailFrom, rcptTo].forEach(function (field) {
    field.addEventListener("input", function () {
      field.removeAttribute("data-guess");
      field.classList.remove("guessed");
    });
  });

  // "Guess the envelope" asks the server, which reads the trace as the analysis does (the
  // border hop's for clause too): what this script guessed is cleared so it does not count
  // as typed (what the visitor typed is kept).
  form.addEventListener("submit", function (event) {
    if (event.submitter && event.submitter.value === "hints") {
      clearGuess(mailFrom);
      clearGuess(rcptTo);
    }
  });

  input.addEventListener("change", function () {
    showChosen();
    readHints();
  });
  if (paste) {
    var timer = null;
    paste.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(readHints, 300);
    });
  }

  // -- drag and drop -----------------------------------------------------------------------

  function stop(event) {
    event.preventDefault();
    event.stopPropagation();
  }
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      stop(event);
      zone.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      stop(event);
      zone.classList.remove("dragging");
    });
  });
  zone.addEventListener("drop", function (event) {
    if (event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      showChosen();
      readHints();
    }
  });

  showChosen();
})();
