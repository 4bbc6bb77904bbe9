/* fmgate-forms.js: makes every <form data-fmgate> that posts to fmgate nicer,
 * without being needed. Without it a form is a plain POST and fmgate answers
 * with a 303 to the thank-you or error page.
 *
 * With it:
 * - the utm_* parameters of the page URL, and document.referrer, travel in
 *   hidden fields (utm_source ... utm_content, _referrer, and any hidden field
 *   marked data-fmgate-fill="referrer"), remembered for the visit so that a
 *   visitor who moved on from the landing page keeps them;
 * - the fields are checked in the page first (required, the input's type and
 *   pattern, an email's domain needs a dot), then the form is sent with fetch
 *   in JSON mode (Accept: application/json); success goes to data-thanks, or
 *   shows data-done in the form;
 * - field errors are shown next to their fields (aria-invalid,
 *   aria-describedby), the first bad field gets the focus, and a summary that
 *   names each field by its <label> goes to the form's aria-live status line
 *   ([data-fmgate-status]);
 * - on a failure page, a list marked data-fmgate-errors shows the errors of
 *   the URL's error, field and errors parameters (at most 32), each field
 *   named only by the page's [data-fmgate-labels] list;
 * - every message is in the visitor's language: English, German, French or
 *   Spanish (see language() for the rule).
 * Everything the server or the URL says is written with textContent, never as
 * HTML, and picks a fixed sentence: codes and fields outside the lists get a
 * general one.
 * It also works on another site's page (docs/embed.md), when fmgate lists
 * that site's origin in the form's <allow-origin>. */
(function () {
  "use strict";
  if (!window.fetch || !window.URLSearchParams || !window.FormData) {
    return; /* an old browser: the plain POST and the static pages still work */
  }

  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
  /* The most errors a failure page lists: fmgate reports no more
   * (LIMIT_MAX_ERRORS), so a longer list is not fmgate's. */
  var MAX_ERRORS = 32;

  /* The messages, per language. "field" is said next to a field, by the
   * error's code; invalid_value and missing_field have a sentence per kind
   * of input (kind()). "form" is said once for the form. */
  var MESSAGES = {
    en: {
      field: {
        missing_email: "Please enter your email address.",
        invalid_email: "Please enter an email address like name@example.com.",
        missing_field: "Please fill in this field.",
        "missing_field.checkbox": "Please tick this box to continue.",
        "missing_field.select": "Please choose one of the options.",
        invalid_value: "We cannot use this value. Please check it for typing mistakes.",
        "invalid_value.tel": "Please enter a phone number: digits, spaces and + - ( ) only, at least 5 digits.",
        "invalid_value.number": "Please enter a number, such as 25.",
        "invalid_value.date": "Please enter a date such as 2025-03-31.",
        "invalid_value.select": "Please choose one of the options.",
        too_long: "This is too long. Please shorten it."
      },
      form: {
        captcha: "Please complete the spam check (CAPTCHA) and send the form again.",
        missing_user_id: "We could not tell who you are. Please reload the page and try again.",
        invalid_user_id: "We could not confirm who you are. Please reload the page and try again.",
        rejected: "We could not save your details. Please check them, or write to us.",
        rate_limited: "Too many submissions from your connection. Please wait a few minutes and try again.",
        unavailable: "We cannot take your details just now. Please try again in a few minutes.",
        internal_error: "Something went wrong on our side. Please try again in a few minutes.",
        body_too_large: "The form holds too much text to send. Please shorten your message and try again.",
        too_many_fields: "The form has too many fields to send. Please reload the page and try again.",
        unsupported_media_type: "The form was sent in a way we cannot read. Please reload the page and try again.",
        file_upload: "Files cannot be sent with this form. Please remove the file and try again.",
        malformed_body: "The form arrived damaged. Please reload the page and try again.",
        body_timeout: "The form took too long to arrive. Please check your connection and try again.",
        forbidden_origin: "This form cannot be sent from this page.",
        network: "We could not reach the server. Please check your connection and try again.",
        other: "The form could not be sent. Please try again."
      },
      sending: "Sending\u2026",
      done: "Thank you! We received your details.",
      check: "Please check: ",
      unnamed: "One of the fields was not accepted. Please go back to the form and check what you entered.",
      colon: ": "
    },
    de: {
      field: {
        missing_email: "Bitte geben Sie Ihre E-Mail-Adresse ein.",
        invalid_email: "Bitte geben Sie eine E-Mail-Adresse wie name@example.com ein.",
        missing_field: "Bitte füllen Sie dieses Feld aus.",
        "missing_field.checkbox": "Bitte kreuzen Sie dieses Kästchen an, um fortzufahren.",
        "missing_field.select": "Bitte wählen Sie eine der Möglichkeiten.",
        invalid_value: "Diesen Wert können wir nicht verwenden. Bitte prüfen Sie ihn auf Tippfehler.",
        "invalid_value.tel": "Bitte geben Sie eine Telefonnummer ein: nur Ziffern, Leerzeichen und + - ( ), mindestens 5 Ziffern.",
        "invalid_value.number": "Bitte geben Sie eine Zahl ein, zum Beispiel 25.",
        "invalid_value.date": "Bitte geben Sie ein Datum wie 2025-03-31 ein.",
        "invalid_value.select": "Bitte wählen Sie eine der Möglichkeiten.",
        too_long: "Dieser Text ist zu lang. Bitte kürzen Sie ihn."
      },
      form: {
        captcha: "Bitte lösen Sie die Spam-Prüfung (CAPTCHA) und senden Sie das Formular erneut.",
        missing_user_id: "Wir konnten Sie nicht zuordnen. Bitte laden Sie die Seite neu und versuchen Sie es erneut.",
        invalid_user_id: "Wir konnten Ihre Identität nicht bestätigen. Bitte laden Sie die Seite neu und versuchen Sie es erneut.",
        rejected: "Wir konnten Ihre Angaben nicht speichern. Bitte prüfen Sie sie oder schreiben Sie uns.",
        rate_limited: "Zu viele Einsendungen von Ihrer Verbindung. Bitte warten Sie einige Minuten und versuchen Sie es dann erneut.",
        unavailable: "Wir können Ihre Angaben gerade nicht annehmen. Bitte versuchen Sie es in einigen Minuten erneut.",
        internal_error: "Bei uns ist etwas schiefgegangen. Bitte versuchen Sie es in einigen Minuten erneut.",
        body_too_large: "Das Formular enthält zu viel Text. Bitte kürzen Sie Ihre Nachricht und versuchen Sie es erneut.",
        too_many_fields: "Das Formular hat zu viele Felder. Bitte laden Sie die Seite neu und versuchen Sie es erneut.",
        unsupported_media_type: "Das Formular kam in einer Form an, die wir nicht lesen können. Bitte laden Sie die Seite neu und versuchen Sie es erneut.",
        file_upload: "Mit diesem Formular können keine Dateien gesendet werden. Bitte entfernen Sie die Datei und versuchen Sie es erneut.",
        malformed_body: "Das Formular ist beschädigt angekommen. Bitte laden Sie die Seite neu und versuchen Sie es erneut.",
        body_timeout: "Das Senden hat zu lange gedauert. Bitte prüfen Sie Ihre Verbindung und versuchen Sie es erneut.",
        forbidden_origin: "Dieses Formular kann von dieser Seite aus nicht gesendet werden.",
        network: "Wir konnten den Server nicht erreichen. Bitte prüfen Sie Ihre Verbindung und versuchen Sie es erneut.",
        other: "Das Formular konnte nicht gesendet werden. Bitte versuchen Sie es erneut."
      },
      sending: "Wird gesendet\u2026",
      done: "Vielen Dank! Wir haben Ihre Angaben erhalten.",
      check: "Bitte prüfen Sie: ",
      unnamed: "Ein Feld wurde nicht angenommen. Bitte gehen Sie zurück zum Formular und prüfen Sie Ihre Angaben.",
      colon: ": "
    },
    fr: {
      field: {
        missing_email: "Veuillez saisir votre adresse e-mail.",
        invalid_email: "Veuillez saisir une adresse e-mail comme nom@example.com.",
        missing_field: "Veuillez remplir ce champ.",
        "missing_field.checkbox": "Veuillez cocher cette case pour continuer.",
        "missing_field.select": "Veuillez choisir l\u2019une des options.",
        invalid_value: "Nous ne pouvons pas utiliser cette valeur. Veuillez vérifier qu\u2019elle ne contient pas de faute de frappe.",
        "invalid_value.tel": "Veuillez saisir un numéro de téléphone\u00a0: chiffres, espaces et + - ( ) uniquement, au moins 5 chiffres.",
        "invalid_value.number": "Veuillez saisir un nombre, par exemple 25.",
        "invalid_value.date": "Veuillez saisir une date comme 2025-03-31.",
        "invalid_value.select": "Veuillez choisir l\u2019une des options.",
        too_long: "Ce texte est trop long. Veuillez le raccourcir."
      },
      form: {
        captcha: "Veuillez compléter la vérification anti-spam (CAPTCHA) puis renvoyer le formulaire.",
        missing_user_id: "Nous n\u2019avons pas pu vous identifier. Veuillez recharger la page et réessayer.",
        invalid_user_id: "Nous n\u2019avons pas pu confirmer votre identité. Veuillez recharger la page et réessayer.",
        rejected: "Nous n\u2019avons pas pu enregistrer vos informations. Veuillez les vérifier ou nous écrire.",
        rate_limited: "Trop d\u2019envois depuis votre connexion. Veuillez patienter quelques minutes puis réessayer.",
        unavailable: "Nous ne pouvons pas recevoir vos informations pour le moment. Veuillez réessayer dans quelques minutes.",
        internal_error: "Une erreur s\u2019est produite de notre côté. Veuillez réessayer dans quelques minutes.",
        body_too_large: "Le formulaire contient trop de texte. Veuillez raccourcir votre message et réessayer.",
        too_many_fields: "Le formulaire contient trop de champs. Veuillez recharger la page et réessayer.",
        unsupported_media_type: "Le formulaire est arrivé sous une forme que nous ne savons pas lire. Veuillez recharger la page et réessayer.",
        file_upload: "Ce formulaire ne permet pas d\u2019envoyer des fichiers. Veuillez retirer le fichier et réessayer.",
        malformed_body: "Le formulaire est arrivé endommagé. Veuillez recharger la page et réessayer.",
        body_timeout: "L\u2019envoi du formulaire a pris trop de temps. Veuillez vérifier votre connexion et réessayer.",
        forbidden_origin: "Ce formulaire ne peut pas être envoyé depuis cette page.",
        network: "Impossible de joindre le serveur. Veuillez vérifier votre connexion et réessayer.",
        other: "Le formulaire n\u2019a pas pu être envoyé. Veuillez réessayer."
      },
      sending: "Envoi en cours\u2026",
      done: "Merci\u00a0! Nous avons bien reçu vos informations.",
      check: "Veuillez vérifier\u00a0: ",
      unnamed: "L\u2019un des champs n\u2019a pas été accepté. Veuillez revenir au formulaire et vérifier vos informations.",
      colon: "\u00a0: "
    },
    es: {
      field: {
        missing_email: "Introduzca su dirección de correo electrónico.",
        invalid_email: "Introduzca una dirección de correo electrónico como nombre@example.com.",
        missing_field: "Rellene este campo.",
        "missing_field.checkbox": "Marque esta casilla para continuar.",
        "missing_field.select": "Elija una de las opciones.",
        invalid_value: "No podemos usar este valor. Compruebe que no tenga errores de escritura.",
        "invalid_value.tel": "Introduzca un número de teléfono: solo cifras, espacios y + - ( ), con al menos 5 cifras.",
        "invalid_value.number": "Introduzca un número, por ejemplo 25.",
        "invalid_value.date": "Introduzca una fecha como 2025-03-31.",
        "invalid_value.select": "Elija una de las opciones.",
        too_long: "Este texto es demasiado largo. Acórtelo, por favor."
      },
      form: {
        captcha: "Complete la comprobación antispam (CAPTCHA) y vuelva a enviar el formulario.",
        missing_user_id: "No hemos podido identificarle. Recargue la página e inténtelo de nuevo.",
        invalid_user_id: "No hemos podido confirmar su identidad. Recargue la página e inténtelo de nuevo.",
        rejected: "No hemos podido guardar sus datos. Revíselos o escríbanos.",
        rate_limited: "Demasiados envíos desde su conexión. Espere unos minutos e inténtelo de nuevo.",
        unavailable: "Ahora mismo no podemos recibir sus datos. Inténtelo de nuevo dentro de unos minutos.",
        internal_error: "Algo ha fallado por nuestra parte. Inténtelo de nuevo dentro de unos minutos.",
        body_too_large: "El formulario contiene demasiado texto. Acorte su mensaje e inténtelo de nuevo.",
        too_many_fields: "El formulario tiene demasiados campos. Recargue la página e inténtelo de nuevo.",
        unsupported_media_type: "El formulario llegó de una forma que no podemos leer. Recargue la página e inténtelo de nuevo.",
        file_upload: "Con este formulario no se pueden enviar archivos. Quite el archivo e inténtelo de nuevo.",
        malformed_body: "El formulario llegó dañado. Recargue la página e inténtelo de nuevo.",
        body_timeout: "El envío tardó demasiado. Compruebe su conexión e inténtelo de nuevo.",
        forbidden_origin: "Este formulario no se puede enviar desde esta página.",
        network: "No hemos podido contactar con el servidor. Compruebe su conexión e inténtelo de nuevo.",
        other: "No se ha podido enviar el formulario. Inténtelo de nuevo."
      },
      sending: "Enviando\u2026",
      done: "¡Gracias! Hemos recibido sus datos.",
      check: "Revise: ",
      unnamed: "Uno de los campos no se ha aceptado. Vuelva al formulario y revise sus datos.",
      colon: ": "
    }
  };
  var has = function (o, k) { return Object.prototype.hasOwnProperty.call(o, k); };

  function primary(tag) {
    return String(tag || "").toLowerCase().split("-")[0];
  }

  /* The language of the messages for what el belongs to. The page's lang
   * (el's nearest lang attribute) wins when the browser lists it too: the
   * visitor reads it, and the messages then match the page's own words, its
   * labels. Otherwise the browser's first language we have wins
   * (navigator.languages, in the visitor's order): a message the visitor can
   * read beats one in the page's language. Then the page's lang, then
   * English. Only the primary subtag counts (de-AT is de). */
  function language(el) {
    var holder = (el && el.closest && el.closest("[lang]")) || document.documentElement;
    var page = primary(holder.getAttribute("lang")), i;
    var list = (navigator.languages && navigator.languages.length ?
      Array.prototype.slice.call(navigator.languages) : [navigator.language]).map(primary);
    if (has(MESSAGES, page) && list.indexOf(page) >= 0) { return page; }
    for (i = 0; i < list.length; i++) {
      if (has(MESSAGES, list[i])) { return list[i]; }
    }
    return has(MESSAGES, page) ? page : "en";
  }

  /* The kind of input a sentence is chosen by: tel, number, date, select,
   * checkbox, or text. On a failure page, the label list's data-type. */
  function kind(type) {
    type = String(type || "").toLowerCase();
    if (type === "radio") { return "select"; }
    if (type === "select-one" || type === "select-multiple") { return "select"; }
    return ["tel", "number", "date", "select", "checkbox"].indexOf(type) >= 0 ? type : "text";
  }

  /* The sentence for an error with a field: by code and kind of input. */
  function fieldMessage(lang, code, type) {
    var m = MESSAGES[lang].field, specific = code + "." + kind(type);
    if (has(m, specific)) { return m[specific]; }
    return has(m, code) ? m[code] : m.invalid_value;
  }
  function formMessage(lang, code) {
    var m = MESSAGES[lang].form;
    return has(m, code) ? m[code] : m.other;
  }

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

  /* A field's name for people: the text of its <label>, without a trailing
   * "(required)" or "(optional)" hint. */
  function labelText(el) {
    var l = el.labels && el.labels[0];
    return l ? l.textContent.replace(/\s*\([^)]*\)\s*$/, "").trim() : el.name;
  }

  function status(form, text, kindOf) {
    var s = form.querySelector("[data-fmgate-status]");
    if (!s && !text) { return; }
    if (!s) {
      s = document.createElement("p");
      s.setAttribute("data-fmgate-status", "");
      s.setAttribute("aria-live", "polite");
      form.appendChild(s);
    }
    s.className = "form-status" + (kindOf ? " " + kindOf : "");
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

  /* Field errors ({field, code}, from the page's check or a 422): each next
   * to its field, the rest in the status line. */
  function showErrors(form, errors) {
    var lang = language(form), bad = [], general = [];
    errors.forEach(function (e) {
      var el = e && control(form, e.field);
      if (el && bad.indexOf(el) < 0) {
        showError(el, fieldMessage(lang, e.code, el.type));
        bad.push(el);
      } else if (!el && e) {
        general.push(formMessage(lang, e.code));
      }
    });
    if (bad.length) {
      general.unshift(MESSAGES[lang].check + bad.map(labelText).join(", ") + ".");
      bad[0].focus();
    }
    status(form, general.join(" ") || formMessage(lang, "other"), "bad");
  }

  /* An email address fmgate takes: the browser's own rule, and a dot in the
   * domain (a@b is not an address the CRM accepts). */
  function emailOk(v) {
    return /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(v);
  }

  /* The page's own check, before anything is sent: the browser's constraint
   * validation (required, type, pattern) in fmgate's codes. */
  function pageErrors(form) {
    var out = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      var v = el.validity, code = null, email = el.type === "email";
      if (!el.name || !el.willValidate || el.type === "hidden" || el.closest(".hp")) { return; }
      if (v.valueMissing) {
        code = email ? "missing_email" : "missing_field";
      } else if (!v.valid || (email && el.value !== "" && !emailOk(el.value.trim()))) {
        code = email ? "invalid_email" : v.tooLong ? "too_long" : "invalid_value";
      }
      if (code) { out.push({ field: el.name, code: code }); }
    });
    return out;
  }

  /* Reads fmgate's answer and says it; true when the form was taken. */
  function answered(form, r) {
    var b = r.body || {}, lang = language(form);
    if (r.status === 200 && b.ok === true) {
      if (form.getAttribute("data-thanks")) {
        window.location.assign(form.getAttribute("data-thanks"));
        return true;
      }
      form.reset();
      status(form, form.getAttribute("data-done") || MESSAGES[lang].done, "good");
      return true;
    } else if (r.status === 422 && Array.isArray(b.errors)) {
      showErrors(form, b.errors);
    } else {
      status(form, formMessage(lang, typeof b.error === "string" ? b.error :
             r.status === 429 ? "rate_limited" : r.status === 503 ? "unavailable" : "other"), "bad");
    }
    return false;
  }

  function enhance(form) {
    var c = campaign(), r = referrer(), busy = false, taken = false, button = form.querySelector("[type=submit]");
    UTM.forEach(function (k) { hidden(form, k, c[k] || ""); });
    hidden(form, "_referrer", r);
    Array.prototype.forEach.call(form.querySelectorAll("input[type=hidden][data-fmgate-fill=referrer]"),
      function (el) { el.value = r; });
    /* The page checks first, in the visitor's language; the server checks
     * everything again. */
    form.noValidate = true;
    form.addEventListener("input", function (ev) { if (ev.target.name) { clearError(ev.target); } });
    form.addEventListener("change", function (ev) { if (ev.target.name) { clearError(ev.target); } });

    function idle() {
      busy = false;
      form.removeAttribute("aria-busy");
      if (button) { button.disabled = false; }
    }
    /* Back to a page the browser kept (bfcache) after going to data-thanks
     * (or away while sending): the form is ready again, not "Sending...".
     * A refused form keeps its messages: they still hold. */
    window.addEventListener("pageshow", function (ev) {
      if (ev.persisted && (busy || taken)) {
        idle();
        taken = false;
        status(form, "", "");
      }
    });
    form.addEventListener("submit", function (ev) {
      var mine;
      ev.preventDefault();
      if (busy) { return; }
      Array.prototype.forEach.call(form.elements, clearError);
      mine = pageErrors(form);
      if (mine.length) {
        showErrors(form, mine);
        return;
      }
      busy = true;
      taken = false;
      status(form, MESSAGES[language(form)].sending, "");
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
      }).then(function (res) {
        idle();
        taken = answered(form, res);
      }, function () {
        /* A network error, or a cross-origin answer without CORS headers. */
        idle();
        status(form, formMessage(language(form), "network"), "bad");
      });
    });
  }

  /* The errors of a failure page's URL: error and field, plus the errors
   * list ("CODE" or "CODE:FIELD" joined by ",", the field percent-encoded).
   * An entry whose field does not decode is left out. */
  function urlErrors(q) {
    var list = [], all = q.get("errors"), code = q.get("error");
    if (all) {
      all.split(",").forEach(function (e) {
        var i = e.indexOf(":"), field = null;
        if (i >= 0) {
          try { field = decodeURIComponent(e.slice(i + 1)); } catch (x) { return; }
        }
        if (e !== "") { list.push({ code: i < 0 ? e : e.slice(0, i), field: field }); }
      });
    }
    if (!list.length && code) { list.push({ code: code, field: q.get("field") }); }
    return list;
  }

  /* A failure page: each error of the URL (at most MAX_ERRORS) as an item
   * of the list marked data-fmgate-errors, the field named by the page's
   * label list ([data-fmgate-labels] > [data-field], with data-type for the
   * sentence). Anybody can write the URL: a field the list lacks gets a
   * general sentence, never its name, so the page says only its own words.
   * The page's own sentence ([data-fmgate-errors-fallback]) stays for a URL
   * without errors. */
  function failurePage(box) {
    var errors = urlErrors(new URLSearchParams(window.location.search)).slice(0, MAX_ERRORS);
    var lang = language(box), labels = {}, fallback = document.querySelector("[data-fmgate-errors-fallback]");
    if (!errors.length) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("[data-fmgate-labels] [data-field]"), function (el) {
      labels[el.getAttribute("data-field")] = { text: el.textContent.trim(), type: el.getAttribute("data-type") };
    });
    errors.forEach(function (e) {
      var li = document.createElement("li"), l = e.field !== null && has(labels, e.field) ? labels[e.field] : null;
      var fieldCode = has(MESSAGES[lang].field, e.code) && e.field !== null;
      if (fieldCode && l) {
        li.appendChild(document.createElement("strong")).textContent = l.text;
        li.appendChild(document.createTextNode(MESSAGES[lang].colon + fieldMessage(lang, e.code, l.type)));
      } else if (fieldCode) {
        li.textContent = MESSAGES[lang].unnamed;
      } else {
        li.textContent = formMessage(lang, e.code);
      }
      box.appendChild(li);
    });
    box.hidden = false;
    if (fallback) { fallback.hidden = true; }
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-fmgate]"), enhance);
    Array.prototype.forEach.call(document.querySelectorAll("[data-fmgate-errors]"), failurePage);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
