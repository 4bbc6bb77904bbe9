#!/usr/bin/python3
"""drive.py: the visitor's side of www/ in headless Chromium (Debian's chromium,
chromium-driver and python3-selenium), run by tests/browser/site.sh.

  drive.py SITE EMBED EMBED_UNLISTED ARTEFACTS SPOOL DOUBLE

SITE is Apache serving www/ and /forms/ (fmgate); EMBED is a second origin
serving from.html (a link to SITE with utm_* parameters), index.html (the
snippet of docs/embed.md), and the refusal pages big.html (a 70 KB post, 413),
plain.html (enctype text/plain, 415) and limited.html (the rate-limited form
"limited", whose budget site.sh has spent: 429); the newsletter and limited
forms list it. EMBED_UNLISTED is the same server under an origin the lists
lack. SPOOL is fmgate's spool and DOUBLE the Freshmarketer double: together
they make the CRM down and the spool full, for a 503.
Prints "ok DESC" or "not ok: DESC: DETAIL" per check; the shell suite counts
them and checks the contacts in the double. Screenshots go to ARTEFACTS.
"""
import json
import os
import sys
import tempfile
import traceback
import urllib.request
from urllib.parse import parse_qs, quote, urlsplit

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

SITE, EMBED, UNLISTED, ARTEFACTS, SPOOL, DOUBLE = sys.argv[1:7]
WAIT_S = 10
FLAGS = ("--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
         "--disable-background-networking --disable-component-update --disable-sync").split()

# What the pages say, per language (www/fmgate-forms.js, www/error.html.*):
# a few sentences, enough to tell the languages and the messages apart.
SAY = {
    "en": {
        "h1": "Please check the form",
        "check": "Please check: ",
        "unnamed": "One of the fields was not accepted. Please go back to the form and check what you entered.",
        "too_long": "This is too long. Please shorten it.",
        "tel": "Please enter a phone number: digits, spaces and + - ( ) only, at least 5 digits.",
        "invalid_email": "Please enter an email address like name@example.com.",
        "body_too_large": "The form holds too much text to send. Please shorten your message and try again.",
        "unsupported_media_type": "The form was sent in a way we cannot read. Please reload the page and try again.",
        "rate_limited": "Too many submissions from your connection. Please wait a few minutes and try again.",
        "unavailable": "We cannot take your details just now. Please try again in a few minutes.",
        "first": "First name", "phone": "Phone",
        "back_demo": "Back to the demo request", "back_newsletter": "Back to the newsletter signup",
    },
    "de": {
        "h1": "Bitte prüfen Sie das Formular",
        "check": "Bitte prüfen Sie: ",
        "unnamed": "Ein Feld wurde nicht angenommen. Bitte gehen Sie zurück zum Formular und prüfen Sie Ihre Angaben.",
        "too_long": "Dieser Text ist zu lang. Bitte kürzen Sie ihn.",
        "tel": "Bitte geben Sie eine Telefonnummer ein: nur Ziffern, Leerzeichen und + - ( ), mindestens 5 Ziffern.",
        "invalid_email": "Bitte geben Sie eine E-Mail-Adresse wie name@example.com ein.",
        "body_too_large": "Das Formular enthält zu viel Text. Bitte kürzen Sie Ihre Nachricht und versuchen Sie es erneut.",
        "unsupported_media_type": "Das Formular kam in einer Form an, die wir nicht lesen können. Bitte laden Sie die Seite neu und versuchen Sie es erneut.",
        "rate_limited": "Zu viele Einsendungen von Ihrer Verbindung. Bitte warten Sie einige Minuten und versuchen Sie es dann erneut.",
        "unavailable": "Wir können Ihre Angaben gerade nicht annehmen. Bitte versuchen Sie es in einigen Minuten erneut.",
        "first": "Vorname", "phone": "Telefon",
        "back_demo": "Zurück zur Demo-Anfrage", "back_newsletter": "Zurück zur Newsletter-Anmeldung",
    },
}


def report(ok, desc, detail=""):
    print(("ok " + desc) if ok else ("not ok: %s: %s" % (desc, detail)), flush=True)


def expect(desc, got, want):
    report(got == want, desc, "got %r, want %r" % (got, want))


def browser(javascript, profile, lang="en", width=1100):
    """Chromium with JavaScript on or off, the browser's languages set to
    lang (navigator.languages and Accept-Language), width px wide."""
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument("--window-size=%d,1300" % width)
    opts.add_argument("--lang=" + {"en": "en-US", "de": "de-DE"}[lang])
    opts.add_argument("--user-data-dir=" + profile)
    prefs = {"intl.accept_languages": {"en": "en-US,en", "de": "de-DE,de"}[lang]}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    opts.add_experimental_option("prefs", prefs)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    # Headless windows have a minimum width: the viewport is set as a phone's.
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": 1300, "deviceScaleFactor": 1, "mobile": False})
    return d


def wait(d, what, cond):
    """Waits for cond(d); a time-out is a failed check named what."""
    try:
        WebDriverWait(d, WAIT_S).until(cond)
        return True
    except Exception:  # a TimeoutException, or the page went away meanwhile
        report(False, what, "not within %d s; at %s" % (WAIT_S, d.current_url))
        return False


def shot(d, name):
    d.save_screenshot(os.path.join(ARTEFACTS, name))


def path_of(d):
    u = urlsplit(d.current_url)
    return u.path + ("?" + u.query if u.query else "") + ("#" + u.fragment if u.fragment else "")


def fill(d, form, values):
    for name, value in values.items():
        el = d.find_element(By.CSS_SELECTOR, "#%s [name=%s]" % (form, name))
        if el.tag_name == "select":
            Select(el).select_by_visible_text(value)
        else:
            el.clear()
            el.send_keys(value)


def submit(d, form):
    d.find_element(By.CSS_SELECTOR, "#%s [type=submit]" % form).click()


def enter(d, form, name):
    """Sends the form from the keyboard: Enter in one of its fields."""
    d.find_element(By.CSS_SELECTOR, "#%s [name=%s]" % (form, name)).send_keys(Keys.ENTER)


def value(d, form, name):
    return d.find_element(By.CSS_SELECTOR, "#%s [name=%s]" % (form, name)).get_attribute("value")


def shown(d, css):
    """The texts of the elements matching css that are displayed."""
    return [e.text for e in d.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]


def luminance(rgb):
    def lin(c):
        c = c / 255.0
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_on_white(css_color):
    """The contrast of an opaque "rgb(r, g, b)" (or rgba with alpha, blended
    on white) against white."""
    parts = [float(x) for x in css_color[css_color.index("(") + 1:-1].split(",")]
    a = parts[3] if len(parts) == 4 else 1.0
    rgb = [c * a + 255 * (1 - a) for c in parts[:3]]
    return 1.05 / (luminance(rgb) + 0.05)


def double(path, body):
    req = urllib.request.Request(DOUBLE + "/_double/" + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(req, timeout=5).read()


def arrival(d):
    """Arrives from another site through a link carrying utm_* parameters."""
    d.get(EMBED + "/from.html")
    d.find_element(By.ID, "to-site").click()
    if wait(d, "the link leads to the landing page",
            lambda d: urlsplit(d.current_url).path == "/" and
            value(d, "contact-form", "utm_source") == "news"):
        report(True, "utm_source travels in a hidden field")
    expect("utm_campaign in its hidden field", value(d, "contact-form", "utm_campaign"), "spring")
    expect("utm_medium in the newsletter form too", value(d, "newsletter-form", "utm_medium"), "email")
    expect("_referrer holds document.referrer", value(d, "contact-form", "_referrer"), EMBED + "/")
    expect("the mapped referrer field too", value(d, "contact-form", "referrer"), EMBED + "/")
    # A visitor who moves on inside the site keeps the campaign and the referrer.
    d.get(SITE + "/thanks.html")
    d.get(SITE + "/")
    wait(d, "the script ran", lambda d: value(d, "contact-form", "_referrer") != "")
    expect("utm_source kept for the visit", value(d, "contact-form", "utm_source"), "news")
    expect("the first referrer kept for the visit", value(d, "contact-form", "_referrer"), EMBED + "/")
    # A privacy notice beside every button, and the notice it links to.
    for form in ("contact-form", "newsletter-form", "webinar-form"):
        links = d.find_elements(By.CSS_SELECTOR, "#%s [type=submit] + .privacy a[href='#privacy']" % form)
        report(len(links) == 1 and links[0].is_displayed(), form + ": a privacy notice beside the button",
               "%d links" % len(links))
    report(d.find_element(By.ID, "privacy").is_displayed(), "the privacy notice is on the page")
    icon = d.find_elements(By.CSS_SELECTOR, "head link[rel=icon]")
    expect("the page names its icon", [e.get_attribute("href") for e in icon], [SITE + "/favicon.svg"])


def contact(d):
    """The demo request: the page's check, the server's, then taken."""
    # a@b: the page's own check (a dot in the domain), before any post.
    fill(d, "contact-form", {"email": "a@b", "first": "Jo"})
    submit(d, "contact-form")
    email = d.find_element(By.ID, "contact-email")
    if wait(d, "a@b is refused in the page", lambda d: email.get_attribute("aria-invalid") == "true"):
        err_id = email.get_attribute("data-fmgate-error")
        err = d.find_element(By.ID, err_id)
        expect("the email message", err.text, SAY["en"]["invalid_email"])
        report(err_id in (email.get_attribute("aria-describedby") or "").split(),
               "the message is tied to the field (aria-describedby)",
               email.get_attribute("aria-describedby"))
        expect("the bad field has the focus",
               d.switch_to.active_element.get_attribute("id"), "contact-email")
        status = d.find_element(By.CSS_SELECTOR, "#contact-form [data-fmgate-status]")
        report(status.text == "Please check: Work email." and status.get_attribute("aria-live") == "polite",
               "the aria-live status names the field by its label", status.text)
        expect("the page did not change", urlsplit(d.current_url).path, "/")
        # Focused and invalid: the red border stays, the ring is at least 3:1.
        style = d.execute_script("var s = getComputedStyle(arguments[0]);"
                                 "return [s.borderTopColor, s.outlineColor, s.outlineStyle, s.outlineWidth];",
                                 email)
        expect("a focused bad field keeps its red border", style[0], "rgb(179, 38, 30)")
        ratio = contrast_on_white(style[1])
        report(ratio >= 3 and style[2] == "solid" and float(style[3].rstrip("px")) >= 2,
               "the focus ring has at least 3:1 contrast (%.1f:1)" % ratio, style)
    # The server's own check: a phone number it cannot use, said specifically.
    email.clear()
    expect("typing clears aria-invalid", email.get_attribute("aria-invalid"), None)
    email.send_keys("js-contact@example.com")
    fill(d, "contact-form", {"phone": "call me"})
    submit(d, "contact-form")
    phone = d.find_element(By.ID, "contact-phone")
    if wait(d, "the server's phone error is shown at the field",
            lambda d: phone.get_attribute("aria-invalid") == "true"):
        expect("the phone message says what a phone number is",
               d.find_element(By.ID, phone.get_attribute("data-fmgate-error")).text, SAY["en"]["tel"])
        d.execute_script("arguments[0].scrollIntoView({block: 'center'})", phone)
        shot(d, "js-contact-error.png")
    fill(d, "contact-form", {"phone": "+49 30 1234567", "sector": "Software", "size": "25",
                             "company": "Acme Demo", "message": "Call me on Monday"})
    submit(d, "contact-form")
    if wait(d, "JS contact form lands on the thank-you page",
            lambda d: path_of(d) == "/thanks.html#demo"):
        expect("thank-you heading", d.find_element(By.TAG_NAME, "h1").text, "Thank you")
        expect("the demo request's thank-you sentence", shown(d, "main p:not(:last-child)"),
               ["We received your demo request and will be in touch within one working day."])
        shot(d, "js-thanks.png")


def back_button(d):
    """Back from the thank-you page: the bfcache restores the page, and the
    form that was taken is ready again, not "Sending..."; a refused form
    keeps its messages, and a form without a status line gets none."""
    d.get(SITE + "/#newsletter")
    d.execute_script("window.fmgateTestKept = true;"
                     "document.querySelector('#webinar-form [data-fmgate-status]').remove()")
    fill(d, "contact-form", {"email": "a@b"})
    submit(d, "contact-form")
    email = d.find_element(By.ID, "contact-email")
    wait(d, "a@b is refused before Back", lambda d: email.get_attribute("aria-invalid") == "true")
    fill(d, "newsletter-form", {"email": "js-news@example.com", "first": "Nell"})
    submit(d, "newsletter-form")
    if wait(d, "JS newsletter form lands on its thank-you page",
            lambda d: path_of(d) == "/thanks.html#newsletter"):
        expect("the newsletter's own thank-you sentence", shown(d, "main p:not(:last-child)"),
               ["You are on the list: the next monthly notes will reach your inbox."])
    d.back()
    wait(d, "back on the landing page", lambda d: urlsplit(d.current_url).path == "/")
    expect("the page came back from the bfcache", d.execute_script("return window.fmgateTestKept === true"), True)
    status = d.find_element(By.CSS_SELECTOR, "#newsletter-form [data-fmgate-status]")
    button = d.find_element(By.CSS_SELECTOR, "#newsletter-form [type=submit]")
    expect("after Back the form is not 'Sending...'", (status.text, button.is_enabled(),
           d.find_element(By.ID, "newsletter-form").get_attribute("aria-busy")), ("", True, None))
    expect("after Back the refused form keeps its summary and mark",
           (d.find_element(By.CSS_SELECTOR, "#contact-form [data-fmgate-status]").text,
            d.find_element(By.ID, "contact-email").get_attribute("aria-invalid")),
           ("Please check: Work email.", "true"))
    expect("after Back a form without a status line still has none",
           len(d.find_elements(By.CSS_SELECTOR, "#webinar-form [data-fmgate-status]")), 0)

    # The webinar: its list, and the newsletter's for a ticked box.
    d.get(SITE + "/#webinar")
    fill(d, "webinar-form", {"email": "js-webinar@example.com", "first": "Wen"})
    d.find_element(By.CSS_SELECTOR, "#webinar-form [name=optin]").click()
    submit(d, "webinar-form")
    wait(d, "JS webinar form lands on its thank-you page",
         lambda d: path_of(d) == "/thanks.html#webinar")

def problems(d):
    return [li.text for li in d.find_elements(By.CSS_SELECTOR, "#problems li")]


def error_page(d):
    """The error page says only its own words: the query picks sentences
    and labels, markup in it stays inert, a name it lacks is not shown."""
    attack = '<img src=x onerror="document.title=\'pwned\'">'
    d.get(SITE + "/error.html?error=invalid_email&field=" + quote(attack, safe="") +
          "&errors=" + quote("invalid_email:" + quote(attack, safe="") + ",<b>x</b>", safe=""))
    expect("the error page lists what failed, an unknown field unnamed", problems(d),
           [SAY["en"]["unnamed"], "The form could not be sent. Please try again."])
    expect("no element was made from the query",
           len(d.find_elements(By.CSS_SELECTOR, "main img, main b")), 0)
    report(d.title != "pwned", "no script ran from the query", d.title)
    report("onerror" not in d.find_element(By.TAG_NAME, "body").text, "the markup is not shown either")
    spoof = "Your account is locked, call +1 555 0100"
    d.get(SITE + "/error.html?error=invalid_email&field=" + quote(spoof, safe="") +
          "&errors=" + quote("invalid_email:" + quote(spoof, safe="") + ",too_long:" + quote(spoof, safe=""),
                             safe=""))
    text = d.find_element(By.TAG_NAME, "body").text
    report("locked" not in text and "555" not in text, "a sentence in the URL is not put on the page", text)
    expect("each unknown field gets the general sentence", problems(d), [SAY["en"]["unnamed"]] * 2)
    d.get(SITE + "/error.html?error=too_long&field=first&errors=" + quote(",".join(["too_long:first"] * 40), safe=""))
    expect("at most 32 errors are listed, as fmgate reports", len(problems(d)), 32)
    d.get(SITE + "/error.html?error=invalid_email&field=email#newsletter")
    expect("a known field is shown by the page's label",
           [li.text for li in d.find_elements(By.CSS_SELECTOR, "#problems li")],
           ["Email: " + SAY["en"]["invalid_email"]])
    expect("the page's own sentence gives way to the list", shown(d, "#problem"), [])
    expect("the Back link goes to the newsletter", shown(d, "main a"), [SAY["en"]["back_newsletter"]])
    shot(d, "error-page.png")


def embed(d):
    """The embed snippet on a second origin."""
    # The embed snippet on a second origin reads fmgate's JSON answers (CORS).
    d.get(EMBED + "/index.html")
    fill(d, "embed", {"email": "bad@"})
    submit(d, "embed")
    bad = d.find_element(By.ID, "fmgate-email")
    wait(d, "embed: inline error", lambda d: bad.get_attribute("aria-invalid") == "true")
    fill(d, "embed", {"email": "embed@example.com"})
    submit(d, "embed")
    status = d.find_element(By.CSS_SELECTOR, "#embed [data-fmgate-status]")
    if wait(d, "embed: the success answer is read across origins",
            lambda d: "Thank you" in status.text):
        expect("embed: the visitor stays on the page", urlsplit(d.current_url).netloc,
               urlsplit(EMBED).netloc)
        shot(d, "embed-done.png")
    # The same page under an origin the form does not list: 403 without CORS.
    d.get(UNLISTED + "/index.html")
    fill(d, "embed", {"email": "blocked@example.com"})
    submit(d, "embed")
    status = d.find_element(By.CSS_SELECTOR, "#embed [data-fmgate-status]")
    wait(d, "embed from an unlisted origin: refused and said so",
         lambda d: "could not reach" in status.text)


def with_javascript(d):
    arrival(d)
    contact(d)
    back_button(d)
    error_page(d)
    embed(d)


def without_languages(d):
    """A browser without navigator.languages: navigator.language decides,
    so a de-AT visitor on the English page reads German."""
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source":
                      "Object.defineProperty(Navigator.prototype, 'languages', {get: function () { return undefined; }});"
                      "Object.defineProperty(Navigator.prototype, 'language', {get: function () { return 'de-AT'; }});"})
    d.get(SITE + "/#newsletter")
    expect("the browser lacks navigator.languages",
           d.execute_script("return [navigator.languages === undefined, navigator.language]"), [True, "de-AT"])
    fill(d, "newsletter-form", {"email": "a@b"})
    submit(d, "newsletter-form")
    email = d.find_element(By.ID, "newsletter-email")
    if wait(d, "without navigator.languages: a@b refused", lambda d: email.get_attribute("aria-invalid") == "true"):
        expect("without navigator.languages: navigator.language de-AT picks German",
               d.find_element(By.ID, email.get_attribute("data-fmgate-error")).text, SAY["de"]["invalid_email"])


def without_javascript(d):
    d.get(SITE + "/?utm_source=plain&utm_campaign=nojs")
    expect("without JS the hidden fields stay empty", value(d, "contact-form", "utm_source"), "")
    # The browser's own check stops a malformed email before any post, and
    # a@b too (the pattern: a dot in the domain).
    for bad in ("not-an-email", "a@b"):
        fill(d, "contact-form", {"email": bad})
        submit(d, "contact-form")
        expect("the browser keeps %s from being sent" % bad, path_of(d),
               "/?utm_source=plain&utm_campaign=nojs")
    fill(d, "contact-form", {"email": "nojs-contact@example.com", "first": "Nora",
                             "sector": "Music"})
    submit(d, "contact-form")
    if wait(d, "plain POST + 303 lands on the thank-you page",
            lambda d: path_of(d) == "/thanks.html#demo"):
        expect("thank-you heading without JS", d.find_element(By.TAG_NAME, "h1").text, "Thank you")
        expect("the demo request's sentence without JS", shown(d, "main p:not(:last-child)"),
               ["We received your demo request and will be in touch within one working day."])
        shot(d, "nojs-thanks.png")

    d.get(SITE + "/")
    fill(d, "newsletter-form", {"email": "nojs-news@example.com"})
    submit(d, "newsletter-form")
    if wait(d, "plain POST of the newsletter form lands on its thank-you page",
            lambda d: path_of(d) == "/thanks.html#newsletter"):
        expect("the newsletter's sentence without JS, not the demo request's",
               shown(d, "main p:not(:last-child)"),
               ["You are on the list: the next monthly notes will reach your inbox."])
        shot(d, "nojs-thanks-newsletter.png")

    # A value only the server can judge: the 303 goes to the error page.
    d.get(SITE + "/")
    fill(d, "contact-form", {"email": "nojs-bad@example.com", "phone": "call me"})
    submit(d, "contact-form")
    if wait(d, "a refused plain POST lands on the error page",
            lambda d: urlsplit(d.current_url).path == "/error.html"):
        u = urlsplit(d.current_url)
        q = parse_qs(u.query)
        expect("the error page gets error and field", (q.get("error"), q.get("field")),
               (["invalid_value"], ["phone"]))
        expect("the failure URL's fragment names the form", u.fragment, "demo")
        report("nojs-bad" not in d.current_url and "call" not in d.current_url,
               "no submitted value in the error URL", d.current_url)
        text = d.find_element(By.TAG_NAME, "main").text
        report("email" not in text.lower(), "a phone error does not speak of the email", text)
        expect("the Back link goes to the demo request",
               [(a.text, a.get_attribute("href")) for a in d.find_elements(By.CSS_SELECTOR, "main a")
                if a.is_displayed()], [(SAY["en"]["back_demo"], SITE + "/#demo")])
        shot(d, "nojs-error.png")


def fits(d, what):
    """No sideways scrolling at this width."""
    w = d.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    report(w[0] <= w[1], what + ": no sideways scrolling at %d px" % w[1], w)


def landed(d, tag, js, lang, code, form, items):
    """A plain post refused with code: the 303 to the form's failure URL,
    the error page in the browser's language, its Back link to the form,
    and with JS the list of errors (items) in that language."""
    if not wait(d, tag + ": lands on the error page",
                lambda d: urlsplit(d.current_url).path == "/error.html"):
        return None
    u = urlsplit(d.current_url)
    q = parse_qs(u.query)
    expect(tag + ": error and the form's fragment", (q.get("error"), u.fragment), ([code], form))
    expect(tag + ": the page speaks the browser's language", d.find_element(By.TAG_NAME, "h1").text,
           SAY[lang]["h1"])
    expect(tag + ": the Back link goes to the form",
           [(a.text, urlsplit(a.get_attribute("href")).fragment)
            for a in d.find_elements(By.CSS_SELECTOR, "main a") if a.is_displayed()],
           [(SAY[lang]["back_" + form], form)])
    if js:
        expect(tag + ": every error, in words", [li.text for li in d.find_elements(By.CSS_SELECTOR, "#problems li")],
               items)
    else:
        report(d.find_element(By.ID, "problem").is_displayed(), tag + ": the page's own sentence")
    fits(d, tag)
    return q


def refusals(d, js, lang):
    """A refusal of each kind a browser can make, sent from the keyboard at
    375 px, in the browser's language lang."""
    say, mode = SAY[lang], ("js" if js else "nojs") + "-" + lang
    d.get(SITE + "/#demo")
    expect(mode + ": the page is 375 px wide", d.execute_script("return window.innerWidth"), 375)
    links = d.find_elements(By.CSS_SELECTOR, ".top nav a")
    tops = {l.rect["y"] for l in links}
    report(len(links) == 3 and len(tops) == 1 and
           all(d.execute_script("return arguments[0].getClientRects().length", l) == 1 for l in links),
           mode + ": the header links stay whole, on one row", [l.rect for l in links])
    fits(d, mode + ": the landing page")
    field_errors(d, js, lang, mode)
    too_large(d, js, lang, mode)
    d.get(EMBED + "/plain.html")  # 415: a form sent as text/plain
    enter(d, "plain", "email")
    landed(d, mode + " 415", js, lang, "unsupported_media_type", "demo", [say["unsupported_media_type"]])
    rate_limited(d, js, lang, mode)
    unavailable(d, js, lang, mode)
    d.get(SITE + "/thanks.html#newsletter")
    fits(d, mode + ": the thank-you page")
    expect(mode + ": the thank-you page speaks the browser's language", d.find_element(By.TAG_NAME, "h1").text,
           {"en": "Thank you", "de": "Vielen Dank"}[lang])


def field_errors(d, js, lang, mode):
    """Two field errors only the server sees: a first name over its 100
    bytes (60 two-byte letters) and a phone number without digits."""
    say, tag = SAY[lang], mode + " two field errors"
    d.get(SITE + "/#demo")
    fill(d, "contact-form", {"email": "r-%s@example.com" % mode, "first": "\u00e9" * 60,
                             "phone": "call me"})
    enter(d, "contact-form", "phone")
    if js:
        first = d.find_element(By.ID, "contact-first")
        phone = d.find_element(By.ID, "contact-phone")
        if wait(d, tag + ": both fields marked",
                lambda d: first.get_attribute("aria-invalid") == phone.get_attribute("aria-invalid") == "true"):
            expect(tag + ": each says what is wrong, in the visitor's language",
                   [d.find_element(By.ID, e.get_attribute("data-fmgate-error")).text for e in (first, phone)],
                   [say["too_long"], say["tel"]])
            expect(tag + ": the summary names the page's labels",
                   d.find_element(By.CSS_SELECTOR, "#contact-form [data-fmgate-status]").text,
                   say["check"] + "First name, Phone.")
            expect(tag + ": the first bad field has the focus",
                   d.switch_to.active_element.get_attribute("id"), "contact-first")
            fits(d, tag)
            shot(d, mode + "-fields.png")
    else:
        q = landed(d, tag, js, lang, "too_long", "demo", None)
        if q is not None:
            expect(tag + ": both errors in the URL", q.get("errors"), ["too_long:first,invalid_value:phone"])
            shot(d, mode + "-fields.png")
    if js:
        # The same URL as the server makes it, read by the error page.
        d.get(SITE + "/error.html?error=too_long&field=first&errors=" +
              quote("too_long:first,invalid_value:phone", safe="") + "#demo")
        expect(tag + ": the error page lists both, by its labels",
               [li.text for li in d.find_elements(By.CSS_SELECTOR, "#problems li")],
               [say["first"] + ": " + say["too_long"], say["phone"] + ": " + say["tel"]])
        fits(d, tag + " (error page)")
        shot(d, mode + "-error-page.png")


def too_large(d, js, lang, mode):
    """413: a body over max-body, from fetch and as a plain post."""
    say, tag = SAY[lang], mode + " 413"
    if js:
        d.get(SITE + "/#demo")
        fill(d, "contact-form", {"email": "r-%s@example.com" % mode})
        d.execute_script("document.getElementById('contact-message').value = 'x'.repeat(70000)")
        enter(d, "contact-form", "email")
        status = d.find_element(By.CSS_SELECTOR, "#contact-form [data-fmgate-status]")
        wait(d, tag + ": said in the form", lambda d: status.text == say["body_too_large"])
    d.get(EMBED + "/big.html")
    enter(d, "big", "email")
    landed(d, tag + " (plain post)", js, lang, "body_too_large", "demo", [say["body_too_large"]])


def rate_limited(d, js, lang, mode):
    """429: the rate-limited form, its budget spent."""
    say, tag = SAY[lang], mode + " 429"
    d.get(EMBED + "/limited.html")
    fill(d, "limited", {"email": "r-%s@example.com" % mode})
    enter(d, "limited", "email")
    if js:
        status = d.find_element(By.CSS_SELECTOR, "#limited [data-fmgate-status]")
        wait(d, tag + ": said in the form", lambda d: status.text == say["rate_limited"])
        shot(d, mode + "-429.png")
    else:
        landed(d, tag, js, lang, "rate_limited", "newsletter", None)


def unavailable(d, js, lang, mode):
    """503: the CRM down and the spool unable to take the submission."""
    say, tag = SAY[lang], mode + " 503"
    d.get(SITE + "/#newsletter")
    fill(d, "newsletter-form", {"email": "r-%s@example.com" % mode})
    spool_mode = os.stat(SPOOL).st_mode & 0o7777
    double("fault", {"kind": "status", "status": 503, "count": -1})
    os.chmod(SPOOL, 0o555)
    queue = os.path.join(SPOOL, "queue")
    if os.path.isdir(queue):
        os.chmod(queue, 0)
    try:
        enter(d, "newsletter-form", "email")
        if js:
            status = d.find_element(By.CSS_SELECTOR, "#newsletter-form [data-fmgate-status]")
            wait(d, tag + ": said in the form", lambda d: status.text == say["unavailable"])
            shot(d, mode + "-503.png")
        else:
            landed(d, tag, js, lang, "unavailable", "newsletter", None)
    finally:
        if os.path.isdir(queue):
            os.chmod(queue, 0o700)
        os.chmod(SPOOL, spool_mode)
        double("fault", {"kind": "clear"})


def main():
    failed = False
    runs = [(True, "en", 1100, with_javascript), (True, "en", 1100, without_languages),
            (False, "en", 1100, without_javascript)]
    runs += [(js, lang, 375, refusals) for js in (True, False) for lang in ("en", "de")]
    for javascript, lang, width, run in runs:
        # A fresh profile per browser, removed afterwards.
        with tempfile.TemporaryDirectory(prefix="fmgate-chromium.",
                                         ignore_cleanup_errors=True) as profile:
            d = None
            try:
                d = browser(javascript, profile, lang, width)
                if run is refusals:
                    run(d, javascript, lang)
                else:
                    run(d)
            except Exception as e:
                failed = True
                report(False, "%s (%s, JS %s)" % (run.__name__, lang, javascript),
                       type(e).__name__ + ": " + (str(e).strip().splitlines() or [""])[0])
                traceback.print_exc()
            finally:
                if d is not None:
                    d.quit()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
