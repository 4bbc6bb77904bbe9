#!/usr/bin/python3
"""drive.py: the visitor's side of www/ in headless Chromium (Debian's chromium,
chromium-driver and python3-selenium), run by tests/browser/site.sh.

  drive.py SITE EMBED EMBED_UNLISTED ARTEFACTS

SITE is Apache serving www/ and /forms/ (fmgate); EMBED is a second origin
serving from.html (a link to SITE with utm_* parameters) and index.html (the
snippet of docs/embed.md), listed in the newsletter form's allow list;
EMBED_UNLISTED is the same server under an origin the list lacks.
Prints "ok DESC" or "not ok: DESC: DETAIL" per check; the shell suite counts
them and checks the contacts in the double. Screenshots go to ARTEFACTS.
"""
import os
import sys
import tempfile
import traceback
from urllib.parse import parse_qs, quote, urlsplit

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

SITE, EMBED, UNLISTED, ARTEFACTS = sys.argv[1:5]
WAIT_S = 10
FLAGS = ("--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
         "--disable-background-networking --disable-component-update --disable-sync "
         "--window-size=1100,1300").split()


def report(ok, desc, detail=""):
    print(("ok " + desc) if ok else ("not ok: %s: %s" % (desc, detail)), flush=True)


def expect(desc, got, want):
    report(got == want, desc, "got %r, want %r" % (got, want))


def browser(javascript, profile):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument("--user-data-dir=" + profile)
    if not javascript:
        opts.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


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
    return u.path + ("?" + u.query if u.query else "")


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


def value(d, form, name):
    return d.find_element(By.CSS_SELECTOR, "#%s [name=%s]" % (form, name)).get_attribute("value")


def with_javascript(d):
    # Arrive from another site through a link carrying utm_* parameters.
    d.get(EMBED + "/from.html")
    d.find_element(By.ID, "to-site").click()
    if wait(d, "the link leads to the landing page",
            lambda d: urlsplit(d.current_url).path == "/" and
            value(d, "contact-form", "utm_source") == "news"):
        report(True, "utm_source travels in a hidden field")
    expect("utm_campaign in its hidden field", value(d, "contact-form", "utm_campaign"), "spring")
    expect("utm_medium in the newsletter form too", value(d, "newsletter-form", "utm_medium"), "email")
    expect("_referrer holds document.referrer", value(d, "contact-form", "_referrer"), EMBED + "/")
    # A visitor who moves on inside the site keeps the campaign and the referrer.
    d.get(SITE + "/thanks.html")
    d.get(SITE + "/")
    wait(d, "the script ran", lambda d: value(d, "contact-form", "_referrer") != "")
    expect("utm_source kept for the visit", value(d, "contact-form", "utm_source"), "news")
    expect("the first referrer kept for the visit", value(d, "contact-form", "_referrer"), EMBED + "/")

    # A bad email: the error appears next to the field, the page stays.
    fill(d, "contact-form", {"email": "not-an-email", "first": "Jo"})
    submit(d, "contact-form")
    email = d.find_element(By.ID, "contact-email")
    if wait(d, "inline error for a bad email",
            lambda d: email.get_attribute("aria-invalid") == "true"):
        err_id = email.get_attribute("data-fmgate-error")
        err = d.find_element(By.ID, err_id)
        report(err.is_displayed() and "email address" in err.text,
               "the error message is shown", err.text)
        report(err_id in (email.get_attribute("aria-describedby") or "").split(),
               "the message is tied to the field (aria-describedby)",
               email.get_attribute("aria-describedby"))
        expect("the bad field has the focus",
               d.switch_to.active_element.get_attribute("id"), "contact-email")
        status = d.find_element(By.CSS_SELECTOR, "#contact-form [data-fmgate-status]")
        report("Work email" in status.text and status.get_attribute("aria-live") == "polite",
               "the aria-live status names the field", status.text)
        expect("the page did not change", urlsplit(d.current_url).path, "/")
        d.execute_script("arguments[0].scrollIntoView({block: 'center'})", email)
        shot(d, "js-contact-error.png")
    # Correcting the field clears its error at once.
    email.clear()
    email.send_keys("js-contact@example.com")
    expect("typing clears aria-invalid", email.get_attribute("aria-invalid"), None)
    fill(d, "contact-form", {"phone": "+49 30 1234567", "sector": "Software", "size": "25",
                             "company": "Acme Demo", "message": "Call me on Monday"})
    submit(d, "contact-form")
    if wait(d, "JS contact form lands on the thank-you page",
            lambda d: urlsplit(d.current_url).path == "/thanks.html"):
        expect("thank-you heading", d.find_element(By.TAG_NAME, "h1").text, "Thank you")
        shot(d, "js-thanks.png")

    d.get(SITE + "/#newsletter")
    fill(d, "newsletter-form", {"email": "js-news@example.com", "first": "Nell"})
    submit(d, "newsletter-form")
    if wait(d, "JS newsletter form lands on its thank-you page",
            lambda d: path_of(d) == "/thanks.html?form=newsletter"):
        report("on the list" in d.find_element(By.ID, "done").text,
               "the newsletter's own thank-you sentence", d.find_element(By.ID, "done").text)

    # The webinar: its list, and the newsletter's for a ticked box.
    d.get(SITE + "/#webinar")
    fill(d, "webinar-form", {"email": "js-webinar@example.com", "first": "Wen"})
    d.find_element(By.CSS_SELECTOR, "#webinar-form [name=optin]").click()
    submit(d, "webinar-form")
    wait(d, "JS webinar form lands on its thank-you page",
         lambda d: path_of(d) == "/thanks.html?form=webinar")

    # The error page shows the query as text: markup in it stays inert.
    attack = '<img src=x onerror="document.title=\'pwned\'">'
    d.get(SITE + "/error.html?error=invalid_email&field=" + quote(attack, safe=""))
    expect("the error page says what failed", d.find_element(By.ID, "problem").text,
           "That email address does not look right.")
    expect("the field name is shown as text", d.find_element(By.ID, "field").text, attack)
    expect("no element was made from the query",
           len(d.find_elements(By.CSS_SELECTOR, "main img")), 0)
    report(d.title != "pwned", "no script ran from the query", d.title)
    d.get(SITE + "/error.html?error=invalid_email&field=email")
    expect("a known field is shown by its label", d.find_element(By.ID, "field").text, "Email")
    shot(d, "error-page.png")

    # The embed snippet on a second origin reads fmgate's JSON answers (CORS).
    d.get(EMBED + "/index.html")
    fill(d, "embed", {"email": "bad@"})
    submit(d, "embed")
    bad = d.find_element(By.ID, "fmgate-email")
    wait(d, "embed: inline error read across origins",
         lambda d: bad.get_attribute("aria-invalid") == "true")
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


def without_javascript(d):
    d.get(SITE + "/?utm_source=plain&utm_campaign=nojs")
    expect("without JS the hidden fields stay empty", value(d, "contact-form", "utm_source"), "")
    # The browser's own check stops a malformed email before any post.
    fill(d, "contact-form", {"email": "not-an-email"})
    submit(d, "contact-form")
    expect("the browser keeps a malformed email from being sent", path_of(d),
           "/?utm_source=plain&utm_campaign=nojs")
    fill(d, "contact-form", {"email": "nojs-contact@example.com", "first": "Nora",
                             "sector": "Music"})
    submit(d, "contact-form")
    if wait(d, "plain POST + 303 lands on the thank-you page",
            lambda d: urlsplit(d.current_url).path == "/thanks.html"):
        expect("thank-you heading without JS", d.find_element(By.TAG_NAME, "h1").text, "Thank you")
        shot(d, "nojs-thanks.png")

    d.get(SITE + "/")
    fill(d, "newsletter-form", {"email": "nojs-news@example.com"})
    submit(d, "newsletter-form")
    wait(d, "plain POST of the newsletter form lands on its thank-you page",
         lambda d: path_of(d) == "/thanks.html?form=newsletter")

    # A value only the server can judge: the 303 goes to the error page.
    d.get(SITE + "/")
    fill(d, "contact-form", {"email": "nojs-bad@example.com", "phone": "call me"})
    submit(d, "contact-form")
    if wait(d, "a refused plain POST lands on the error page",
            lambda d: urlsplit(d.current_url).path == "/error.html"):
        q = parse_qs(urlsplit(d.current_url).query)
        expect("the error page gets error and field", (q.get("error"), q.get("field")),
               (["invalid_value"], ["phone"]))
        report("nojs-bad" not in d.current_url and "call" not in d.current_url,
               "no submitted value in the error URL", d.current_url)
        shot(d, "nojs-error.png")


def main():
    failed = False
    for javascript, run in ((True, with_javascript), (False, without_javascript)):
        # A fresh profile per browser, removed afterwards.
        with tempfile.TemporaryDirectory(prefix="fmgate-chromium.",
                                         ignore_cleanup_errors=True) as profile:
            d = None
            try:
                d = browser(javascript, profile)
                run(d)
            except Exception:
                failed = True
                report(False, run.__name__, traceback.format_exc().strip().splitlines()[-1])
                traceback.print_exc()
            finally:
                if d is not None:
                    d.quit()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
