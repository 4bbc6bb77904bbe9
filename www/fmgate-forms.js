/* fmgate-forms.js: makes every <form data-fmgate> that posts to fmgate nicer,
 * without being needed. Without it a form is a plain POST and fmgate answers
 * with a 303 to the thank-you or error page.
 *
 * With it:
 * - the utm_* parameters of the page URL, and document.referrer, travel in
 *   hidden fields (utm_source ... utm_content, _referrer), remembered for the
 *   visit so that a visitor who moved on from the landing page keeps them;
 * - the form is sent with fetch in JSON mode (Accept: application/json);
 *   success goes to data-thanks, or shows data-done in the form;
 * - field errors are shown next to their fields (aria-invalid,
 *   aria-describedby), the first bad field gets the focus, and a summary goes
 *   to the form's aria-live status line ([data-fmgate-status]).
 * Everything the server says is written with textContent, never as HTML.
 * It also works on another site's page (docs/embed.md), when fmgate lists
 * that site's origin in the form's <allow-origin>. */
(function () {
  "use strict";
  if (!window.fetch || !window.URLSearchParams || !window.FormData) {
    return; /* an old browser: the plain POST still works */
  }

  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
  var FIELD_MESSAGES = {
    missing_email: "Please enter your email address.",
    invalid_email: "Please enter an email address like name@example.com.",
    missing_field: "Please fill in this field.",
    invalid_value: "Please check this value.",
    too_long: "This is too long."
  };
  var FORM_MESSAGES = {
    invalid_user_id: "We could not confirm who you are. Please reload the page and try again.",
    missing_user_id: "We could not tell who you are. Please check your email address.",
    rejected: "We could not save your details. Please check them, or write to us.",
    rate_limited: "Too many submissions. Please wait a minute and try again.",
    forbidden_origin: "This form cannot be sent from this page.",
    body_too_large: "The form is too large to send.",
    too_many_fields: "The form is too large to send.",
    unavailable: "We could not save your details just now. Please try again in a minute.",
    network: "We could not reach the server. Please check your connection and try again.",
    other: "The form could not be sent. Please try again."
  };

  /* Reads a remembered value of this visit; storage may be disabled. */
  function recall(key) {
    try { return window.sessionStorage.getItem(key); } catch (e) { return null; }
  }
  function remember(key, value) {
    try { window.sessionStorage.setItem(key, value); } catch (e) { /* nothing to keep */ }
  }

  /* The campaign of this visit: the page URL's utm_* when it has any (kept
   * for the visit), else the ones kept from an earlier page. */
  function campaign() {
    var q = new URLSearchParams(window.location.search), out = {}, found = false, kept;
    UTM.forEach(function (k) {
      var v = q.get(k);
      if (v) { out[k] = v; found = true; }
    });
    if (found) {
      remember("fmgate.utm", JSON.stringify(out));
      return out;
    }
    try { kept = JSON.parse(recall("fmgate.utm") || "{}"); } catch (e) { kept = {}; }
    out = {};
    UTM.forEach(function (k) {
      if (kept && typeof kept[k] === "string") { out[k] = kept[k]; }
    });
    return out;
  }

  /* The referrer of this visit: the first page of another site that sent
   * the visitor here, else document.referrer. */
  function referrer() {
    var r = document.referrer, external = false;
    try { external = r !== "" && new URL(r).origin !== window.location.origin; } catch (e) { external = false; }
    if (external) {
      remember("fmgate.referrer", r);
      return r;
    }
    return recall("fmgate.referrer") || r;
  }

  function hidden(form, name, value) {
    var el = form.elements.namedItem(name);
    if (!el || !el.tagName) {
      el = document.createElement("input");
      el.type = "hidden";
      el.name = name;
      form.appendChild(el);
    }
    if (el.type === "hidden") { el.value = value; }
  }

  /* The form control named name, when it is one the visitor can correct. */
  function control(form, name) {
    var el = typeof name === "string" ? form.elements.namedItem(name) : null;
    if (el && !el.tagName) { el = el[0]; } /* a RadioNodeList: its first control */
    if (!el || el.type === "hidden" || el.closest(".hp")) { return null; }
    return el;
  }

  function labelText(el) {
    var l = el.labels && el.labels[0];
    /* "Work email (required)" reads "Work email" in the summary. */
    return l ? l.textContent.replace(/\s*\([^)]*\)\s*$/, "").trim() : el.name;
  }

  function status(form, text, kind) {
    var s = form.querySelector("[data-fmgate-status]");
    if (!s) {
      s = document.createElement("p");
      s.setAttribute("data-fmgate-status", "");
      s.setAttribute("aria-live", "polite");
      form.appendChild(s);
    }
    s.className = "form-status" + (kind ? " " + kind : "");
    s.textContent = text;
  }

  function clearError(el) {
    var id = el.getAttribute("data-fmgate-error"), err = id && document.getElementById(id), by;
    if (!id) { return; }
    if (err) { err.parentNode.removeChild(err); }
    by = (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (t) {
      return t && t !== id;
    });
    if (by.length) { el.setAttribute("aria-describedby", by.join(" ")); } else { el.removeAttribute("aria-describedby"); }
    el.removeAttribute("aria-invalid");
    el.removeAttribute("data-fmgate-error");
  }

  var serial = 0;
  function showError(el, text) {
    var err = document.createElement("p"), box = el.closest(".field") || el.parentNode;
    serial += 1;
    err.id = (el.id || "fmgate-field") + "-error-" + serial;
    err.className = "field-error";
    err.textContent = text;
    box.appendChild(err);
    el.setAttribute("aria-invalid", "true");
    el.setAttribute("data-fmgate-error", err.id);
    el.setAttribute("aria-describedby",
      ((el.getAttribute("aria-describedby") || "") + " " + err.id).trim());
  }

  /* A 422's errors: each next to its field, the rest in the status line. */
  function showErrors(form, errors) {
    var bad = [], general = [];
    errors.forEach(function (e) {
      var el = e && control(form, e.field);
      if (el && bad.indexOf(el) < 0) {
        showError(el, FIELD_MESSAGES[e.code] || FIELD_MESSAGES.invalid_value);
        bad.push(el);
      } else if (!el && e) {
        general.push(FORM_MESSAGES[e.code] || FORM_MESSAGES.other);
      }
    });
    if (bad.length) {
      general.unshift("Please check " + bad.map(labelText).join(", ") + ".");
      bad[0].focus();
    }
    status(form, general.join(" ") || FORM_MESSAGES.other, "bad");
  }

  function enhance(form) {
    var c = campaign(), busy = false;
    UTM.forEach(function (k) { hidden(form, k, c[k] || ""); });
    hidden(form, "_referrer", referrer());
    /* The server checks every field and says what is wrong in words. */
    form.noValidate = true;
    form.addEventListener("input", function (ev) { if (ev.target.name) { clearError(ev.target); } });
    form.addEventListener("change", function (ev) { if (ev.target.name) { clearError(ev.target); } });
    form.addEventListener("submit", function (ev) {
      var button = form.querySelector("[type=submit]");
      ev.preventDefault();
      if (busy) { return; }
      busy = true;
      Array.prototype.forEach.call(form.elements, clearError);
      status(form, "Sending\u2026", "");
      form.setAttribute("aria-busy", "true");
      if (button) { button.disabled = true; }
      fetch(form.action, {
        method: "POST",
        headers: { Accept: "application/json" },
        body: new URLSearchParams(new FormData(form))
      }).then(function (res) {
        return res.json().catch(function () { return null; }).then(function (body) {
          return { status: res.status, body: body };
        });
      }).then(function (r) {
        var b = r.body || {};
        if (r.status === 200 && b.ok === true) {
          if (form.getAttribute("data-thanks")) {
            window.location.assign(form.getAttribute("data-thanks"));
            return;
          }
          form.reset();
          status(form, form.getAttribute("data-done") || "Thank you! We received your details.", "good");
        } else if (r.status === 422 && Array.isArray(b.errors)) {
          showErrors(form, b.errors);
        } else {
          status(form, FORM_MESSAGES[b.error] || (r.status === 429 ? FORM_MESSAGES.rate_limited :
                 r.status === 503 ? FORM_MESSAGES.unavailable : FORM_MESSAGES.other), "bad");
        }
      }, function () {
        /* A network error, or a cross-origin answer without CORS headers. */
        status(form, FORM_MESSAGES.network, "bad");
      }).then(function () {
        busy = false;
        form.removeAttribute("aria-busy");
        if (button) { button.disabled = false; }
      });
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-fmgate]"), enhance);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
