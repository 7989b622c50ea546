// The escalation panel's "Copy" buttons: copy the text prepared for 21Vianet's portal to the clipboard.
// A static file, not an inline script: the production Content-Security-Policy allows scripts from 'self' only.
// Without JavaScript the buttons stay hidden and the read-only text can be selected by hand.
(function () {
  "use strict";

  function copied(button, label) {
    button.textContent = label;
    button.setAttribute("data-copied", label === button.dataset.copiedLabel ? "yes" : "no");
  }

  function selectAndCopy(source) {
    // Older browsers, or a page not served over a secure context: the selection and execCommand.
    source.focus();
    source.select();
    try {
      return document.execCommand("copy");
    } catch (e) {
      return false;
    }
  }

  function copy(button) {
    var source = document.getElementById(button.dataset.copyTarget);
    if (!source) return;
    var done = function () { copied(button, button.dataset.copiedLabel); };
    var fallback = function () {
      if (selectAndCopy(source)) done(); else copied(button, button.dataset.failedLabel);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(done, fallback);
    } else {
      fallback();
    }
  }

  function ready() {
    var buttons = document.querySelectorAll("button[data-copy-target]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { copy(button); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
