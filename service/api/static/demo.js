// The demo page shows pasted text through the very component portals embed.
"use strict";

document.getElementById("explain-form").addEventListener("submit", (event) => {
  event.preventDefault();
  document.getElementById("result").explainText(document.getElementById("report").value);
});
