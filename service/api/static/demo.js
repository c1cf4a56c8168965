// Renders an Explanation with textContent only: report text is never parsed as HTML.
"use strict";

const BANNER = {
  critical: "Contact your care team now.",
  urgent: "Talk with your care team soon.",
};

function show(id, text) {
  const el = document.getElementById(id);
  el.textContent = text || "";
  return el;
}

function list(id, entries) {
  const el = document.getElementById(id);
  el.replaceChildren(...entries.map((text) => {
    const li = document.createElement("li");
    li.textContent = text;
    return li;
  }));
}

function render(doc) {
  const urgency = show("urgency", BANNER[doc.urgency]);
  urgency.hidden = !BANNER[doc.urgency];
  show("summary", doc.summary);
  list("items", doc.items.map((item) => item.lay));
  list("questions", doc.questions.map((q) => q.text));
  document.getElementById("questions-title").hidden = doc.questions.length === 0;
  show("disclaimer", doc.disclaimer);
}

document.getElementById("explain-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const result = document.getElementById("result");
  const status = show("status", "Explaining…");
  status.classList.remove("error");
  result.setAttribute("aria-busy", "true");
  try {
    const response = await fetch("/v1/explain", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        text: document.getElementById("report").value,
        lang: document.getElementById("lang").value,
      }),
    });
    const body = await response.json();
    if (!response.ok) {
      throw new Error(body.detail || "Something went wrong.");
    }
    render(body);
    show("status", "");
  } catch (error) {
    status.classList.add("error");
    show("status", error.message);
  } finally {
    result.setAttribute("aria-busy", "false");
  }
});
