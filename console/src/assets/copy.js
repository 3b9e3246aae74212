// Copy buttons: each <button data-copy="ID" hidden> copies the text of element ID. The buttons
// stay hidden without this script; the values are selectable text either way.
"use strict";
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var target = document.getElementById(button.getAttribute("data-copy"));
  if (!target || !navigator.clipboard) {
    return;
  }
  var label = button.textContent;
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(target.textContent.trim()).then(
      function () {
        button.textContent = label + " \u2713";
        setTimeout(function () { button.textContent = label; }, 2000);
      },
      function () {
        var range = document.createRange();
        range.selectNodeContents(target);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      }
    );
  });
});
