// <radplain-explanation>: one explanation, rendered into the element's shadow root.
//
//   <script src="https://radplain.example.org/embed.js" defer></script>
//   <radplain-explanation report="DiagnosticReport id" lang="es"></radplain-explanation>
//   element.token = "<the patient's access token>";   // a property, never an attribute
//
// The element asks the service for the HTML fragment (GET /v1/reports/{id}/explanation,
// or POST /v1/explain for explainText), which the server renders with every piece of
// report text escaped and then sanitized with nh3; the element inserts that fragment and
// nothing else. Report text never becomes markup here. Styles and words come with this
// script (CSS and WORDS are prepended by the service), so the host page needs no
// stylesheet and no 'unsafe-inline', and its styles cannot break the element.
//
// Events: "radplain-rendered" {detail: {language}}, "radplain-error" {detail: {status}}.
(() => {
  "use strict";

  const script = document.currentScript;
  const SERVICE = script ? new URL(script.src, location.href).origin : location.origin;
  const LANGUAGES = { en: "English", es: "Español" };
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);

  function preferred() {
    const tag = (navigator.language || "en").toLowerCase();
    return tag.startsWith("es") ? "es" : "en";
  }

  class RadplainExplanation extends HTMLElement {
    static get observedAttributes() {
      return ["report", "lang"];
    }

    #token = null;
    #text = null; // set by explainText(): explain this text instead of a stored report
    #request = 0; // only the newest request may render
    #status;
    #body;
    #switch;
    #title = null;

    constructor() {
      super();
      const root = this.attachShadow({ mode: "open" });
      root.adoptedStyleSheets = [sheet];
      const bar = document.createElement("div");
      bar.className = "rp-bar";
      const level = Number(this.getAttribute("title-level"));
      if (level >= 1 && level <= 6) {
        this.#title = document.createElement(`h${level}`);
        this.#title.className = "rp-title";
        bar.append(this.#title);
      }
      this.#switch = document.createElement("div");
      this.#switch.className = "rp-switch";
      this.#switch.setAttribute("role", "group");
      for (const [code, name] of Object.entries(LANGUAGES)) {
        const button = document.createElement("button");
        button.type = "button";
        button.lang = code;
        button.dataset.lang = code;
        button.textContent = name;
        button.addEventListener("click", () => this.setAttribute("lang", code));
        this.#switch.append(button);
      }
      bar.append(this.#switch);
      this.#status = document.createElement("p");
      this.#status.className = "rp-status";
      this.#status.setAttribute("role", "status");
      this.#body = document.createElement("div");
      this.#body.className = "rp-body";
      root.append(bar, this.#status, this.#body);
      this.#chrome(this.#language());
    }

    set token(value) {
      this.#token = value || null;
      this.#load();
    }

    explainText(text) {
      this.#text = String(text);
      return this.#load();
    }

    connectedCallback() {
      this.#load();
    }

    attributeChangedCallback(name, before, after) {
      if (before !== after) this.#load();
    }

    #language() {
      const lang = this.getAttribute("lang");
      return lang in LANGUAGES ? lang : preferred();
    }

    #chrome(lang) {
      const words = WORDS[lang];
      if (this.#title) this.#title.textContent = words["title"];
      this.#switch.setAttribute("aria-label", words["label.language"]);
      for (const button of this.#switch.children) {
        button.setAttribute("aria-pressed", String(button.dataset.lang === lang));
      }
      return words;
    }

    #say(text, error) {
      this.#status.textContent = text;
      this.#status.classList.toggle("rp-error", Boolean(error));
    }

    async #load() {
      const report = this.getAttribute("report");
      const asking = this.#text !== null ? "text" : report && this.#token ? "report" : null;
      if (!asking || !this.isConnected) return;
      const lang = this.#language();
      const words = this.#chrome(lang);
      const query = new URLSearchParams({ format: "html", lang });
      const init = {
        headers: { Accept: "text/html" },
        credentials: "omit",
        referrerPolicy: "no-referrer",
      };
      let url;
      if (asking === "text") {
        url = `${SERVICE}/v1/explain?${query}`;
        init.method = "POST";
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify({ text: this.#text });
      } else {
        url = `${SERVICE}/v1/reports/${encodeURIComponent(report)}/explanation?${query}`;
        init.headers.Authorization = `Bearer ${this.#token}`;
      }
      const mine = ++this.#request;
      this.#say(words["status.loading"]);
      this.setAttribute("aria-busy", "true");
      let status = 0;
      try {
        const response = await fetch(url, init);
        status = response.status;
        const body = await response.text();
        if (mine !== this.#request) return;
        if (!response.ok) throw new Error(this.#problem(status, body, words));
        const template = document.createElement("template");
        template.innerHTML = body; // the server's sanitized fragment: inert until adopted
        this.#body.replaceChildren(template.content);
        this.#say("");
        this.dispatchEvent(new CustomEvent("radplain-rendered", { detail: { language: lang } }));
      } catch (error) {
        if (mine !== this.#request) return;
        this.#body.replaceChildren();
        this.#say(error.message || words["status.error"], true);
        this.dispatchEvent(new CustomEvent("radplain-error", { detail: { status } }));
      } finally {
        if (mine === this.#request) this.setAttribute("aria-busy", "false");
      }
    }

    #problem(status, body, words) {
      if (status === 401) return words["status.signed_out"];
      if (status === 403 || status === 404) return words["status.not_found"];
      if (status >= 400 && status < 500 && this.#text !== null) {
        try {
          return JSON.parse(body).detail || words["status.error"]; // what to fix, for the demo
        } catch {
          return words["status.error"];
        }
      }
      return words["status.error"];
    }
  }

  if (!customElements.get("radplain-explanation")) {
    customElements.define("radplain-explanation", RadplainExplanation);
  }
})();
