#!/usr/bin/python3
"""fmdouble.py: a test double of the Freshmarketer (Freshworks CRM) contacts API.

fmgate's real libcurl client is tested against this server over plain HTTP on
127.0.0.1. It implements the part of the API that fmgate relies on (contacts,
marketing lists, sales accounts and contacts' links to them, notes), as this
docstring describes it: by default the API as Freshworks documents it (the
"documented picture"), strictly enough that a client sending labels instead of
API names, the wrong container ("custom_fields") or wrong value types fails
loudly; as switchable modes (see "Modes" below) the ways the live service has
been seen to differ from it; and a control API under /_double/ for tests.

Usage:
  /usr/bin/python3 tests/fmdouble.py --port 0 --port-file FILE --key KEY
                   [--hour-limit N] [--minute-limit N] [--hour-window S]
                   [--minute-window S] [--retry-after]
                   [--modes JSON] [--verbose]

Binds 127.0.0.1 only. With --port 0 the kernel picks the port; the actual port
is written to FILE (through FILE.tmp and a rename) once the socket listens.
SIGTERM or SIGINT stop it cleanly (exit 0). Standard library only.

API (prefix /crm/sales/api), all answers JSON with Content-Length, HTTP/1.1
keep-alive:
  POST /contacts/upsert          {"unique_identifier":{ONE KEY},"contact":{..}}
                                 201 created / 200 updated, {"contact":{..}}
  POST /contacts                 {"contact":{..}} -> 201
  GET|PUT|DELETE /contacts/ID    PUT body {"contact":{..}} merges
  GET  /settings/contacts/fields {"fields":[..]}
  GET  /lookup?q=V&f=email|external_id|mobile_number&entities=contact
                                 {"contacts":{"contacts":[..]}}
  POST /filtered_search/contact  {"filter_rule":[{"attribute":"contact_email.email",
                                 "operator":"is_in","value":V}]} -> {"contacts":[..]}
  GET  /lists?page=N             N >= 1, default 1 (other parameters, per_page
                                 too, are ignored) -> {"lists":[{"id":N,"name":S}..],
                                 "meta":{"total_pages":P,"total":T}}: the Nth page
                                 of lists_per_page lists in id order; P is 0 when
                                 there is no list; a page past the end: "lists":[]
  POST /lists                    {"name":S} (documented) or {"list":{"name":S}}
                                 -> 201 {"list":{"id":N,"name":S}}; a duplicate
                                 name makes a second list (see list_names)
  PUT  /lists/ID/add_contacts    {"ids":[CONTACT_ID,..]} -> 200 {"message":
                                 "Contacts added to list"}; membership is a set
                                 (adding a member again keeps one); all or none
  POST /sales_accounts/upsert    {"unique_identifier":{"name":S},"sales_account":
                                 {..}} -> 201 created / 200 updated (create_status
                                 as for contacts), {"sales_account":{"id":N,"name":S}};
                                 the account whose name equals S case-insensitively
                                 is updated; sales_account's "name", when given,
                                 becomes the name; its other keys are ignored
  POST /notes                    {"note":{"description":S,"targetable_type":"Contact",
                                 "targetable_id":CONTACT_ID}} -> 201 {"note":{"id":N,
                                 "description":S,"targetable_type":"Contact",
                                 "targetable_id":N}}; every POST makes a note
Every API answer other than 2xx is {"errors":{"code":N,"message":["..."]}}.
Ids count per kind from their own base, so an id sent where another kind's is
meant finds nothing: contacts 70054866601, lists 7001, accounts 5001, notes 9001.

Error texts (the "message" array holds exactly one of these):
  401 "Incorrect or missing API key"
  400 "Invalid JSON in request body"            (unparsable, or not an object)
  400 "unique_identifier must hold exactly one of emails, external_id, mobile_number"
  400 "contact must be an object"
  400 "Unknown attribute: NAME"                 (top-level contact key not a built-in field)
  400 "Unknown custom field: NAME"              (custom_field key not in the field list)
  400 "custom_field must be an object"
  400 "Invalid value for NAME: expected WHAT"   (WHAT: "a string", "a number",
                                                 "true or false", "a date YYYY-MM-DD",
                                                 "one of: A, B, C", "one of the ids: 1, 2",
                                                 "at most N characters" (a field with
                                                 max_length), "choices joined by ';'
                                                 from: A, B" (multi_select_dropdown))
  400 "Email has already been taken"            (another contact holds the email)
  400 "External has already been taken"         (another contact holds the external_id)
  400 "Unsupported lookup field: F" / "Query q is required"
  400 "Unsupported filter: ATTRIBUTE OPERATOR"
  400 "Invalid sales_accounts"                  (a contact's sales_accounts is not a
                                                 list of objects, each with an integer
                                                 "id" (each once) and an optional
                                                 boolean "is_primary"; null included)
  400 "Invalid sales account ids: 9, 7001"      (ids of no account, ascending)
  400 "Only one primary sales account"          (more than one is_primary true)
  400 "Invalid page"                            (GET /lists: page not an integer >= 1)
  400 "Name can't be blank"                     (POST /lists: no name, not a string,
                                                 or only blanks)
  400 "Name has already been taken"             (POST /lists, list_names "unique")
  400 "ids must be a non-empty list of contact ids"  (add_contacts body)
  400 "Invalid contact ids: 5, 6"               (add_contacts: ids of no contact,
                                                 ascending; nothing is added)
  400 "unique_identifier must hold name"        (sales account upsert: no non-empty
                                                 string "name" in it)
  400 "sales_account must be an object"
  400 "Invalid value for name: expected a string"  (sales_account "name" not a
                                                 non-empty string)
  400 "note must be an object"
  400 "Description can't be blank"              (missing, not a string, only blanks)
  400 "Invalid targetable_type"                 (anything but "Contact")
  404 "Record not found"                        (an unknown contact, list (add_contacts)
                                                 or note target; a targetable_id that
                                                 is not an integer too)
  404 "No route for METHOD PATH"
  411 "Length Required" (chunked bodies are not supported), 413 "Request body too large"
  429 "API rate limit exceeded"
  any injected status: "Injected fault" (or the fault's "message")

Contacts are returned as {"id":N,"email":E,"emails":E,"external_id":X or null,
<every built-in field that is set>,"custom_field":{..}}. Emails are plain strings
(one per contact) and compared case-insensitively; external_id exactly.
subscription_status is a dropdown (choices 0 "Not subscribed", 1 "Subscribed",
2 "Unsubscribed") that takes the choice's text, like the other dropdowns whose
name does not end in "_id", or its id (as the live service stores it);
subscription_types is a plain text field.
An update merges: fields not sent stay, custom_field merges key by key, null
clears a field. The plural "custom_fields" is ignored silently, as the real
service does.
Links to accounts: a contact object sent to POST /contacts/upsert, POST
/contacts, PUT /contacts/ID (and POST /_double/contacts) may carry
"sales_accounts":[{"id":ACCOUNT_ID,"is_primary":B},..] (is_primary false when
left out; other keys in a link ignored): it REPLACES the contact's links, in the
order given ([] clears them); without the key they stay. It is no field of the
field list; the other keys are checked as before, then the links; a refused
write changes nothing. With ?include=sales_accounts (a comma-separated list;
other names ignored) on GET /contacts/ID, PUT /contacts/ID, POST /contacts and
POST /contacts/upsert, the contact answered carries "sales_accounts":[{"id":N,
"name":S,"is_primary":B}..]; without it the key is absent (also from lookup
and filtered_search rows). DELETE /contacts/ID takes the contact out of every
list too; its notes stay.

Rate limits (per API key): an hour and a minute window (fixed windows starting
at the first counted request; 0 = unlimited). Their lengths are 3600 and 60
seconds unless hour_window / minute_window say otherwise (a test compresses
time: the client knows windows only from the reset headers). Every authenticated API request
that is not answered by an injected fault counts. Each answer to an
authenticated request carries, for each limited window:
  x-ratelimit-limit / -remaining / -reset                 (hour window)
  per-min-x-ratelimit-limit / -remaining / -reset          (minute window)
where reset is the number of seconds until the window restarts (see the mode
reset_format). Over a limit: 429 in the envelope, with Retry-After (seconds)
only when retry_after is on. No limit, no headers.

Modes (live-seen behaviours; each default is the documented behaviour above):
  dup_message       "documented" | "address": a duplicate email or external_id
                    is refused with the value followed by " already exists."
                    ("ann@example.com already exists.") | "dutch": the value
                    followed by " bestaat al.", and the messages the modes below
                    add are in Dutch too
  lookup_rows       "full" | "partial": rows of /lookup and /filtered_search
                    carry only id, first_name, last_name, display_name, email,
                    emails (no external_id, no custom_field); GET /contacts/ID
                    stays whole
  lookup_lag_ms     0 | N: a contact whose last API write (create or update,
                    any route) is younger than N ms is left out of /lookup and
                    /filtered_search results; contacts seeded through
                    /_double/contacts are found at once
  lookup_403_every  0 (off) | N: every Nth request to /lookup or
                    /filtered_search since the reset (1: all) is a 403
                    "You don't have access to this resource." (Dutch: "Je hebt
                    geen toegang tot deze bron."); other calls keep working
  external_id_key   "accepted" | "refused": an upsert keyed on external_id is a
                    400 "Invalid unique identifier" (Dutch: "Ongeldige unieke
                    identificatie"); external_id stays a settable, unique field
  reset_format      how x-ratelimit-reset and per-min-x-ratelimit-reset are
                    written: "seconds" (until the window restarts) | "ddmmyy":
                    the instant as ddmmyyHHMMSS in UTC | "unix": Unix seconds |
                    "far": "311299235959" | "garbage": "soon"
  subscription      "text" (as above) | "ids": subscription_status is a
                    dropdown 1 Subscribed, 2 Unsubscribed, 3 Not subscribed,
                    4 Reported as spam that takes only the integer id ("Invalid
                    value for subscription_status: expected one of the ids: 1,
                    2, 3, 4") and returns it as an integer; subscription_types
                    is a multi_select_dropdown 1 Newsletter, 2 Promotions,
                    3 Events, 4 Product updates, 5 Surveys that takes only ids
                    joined by ";" ("2;3;4;5;1"), stored and returned as given
  radio             false | true: the field list gains cf_contact_pref
                    ("Preferred contact", type "radio", choices 31 Email,
                    32 Phone), checked like a dropdown custom field (the text)
  unknown_type      false | true: the field list gains cf_score ("Score", type
                    "slider", a type no client knows), taking any JSON scalar
  emails_array      false | true: contacts in API answers (upsert, POST
                    /contacts, GET/PUT /contacts/ID, lookup, filtered_search)
                    carry "emails" as [{"id":N,"value":E,"is_primary":true,
                    "label":null,"_destroy":false}] ([] without an email);
                    "email" stays the string; /_double/contacts keeps the
                    plain shape
  create_status     201 | 200: the status of an upsert that created a contact
                    or a sales account
  lists_per_page    25 | N >= 1: the page size of GET /lists
  list_names        "any": a POST /lists with the name of a list held makes a
                    second list (live behaviour unconfirmed: a client must not
                    count on a refusal) | "unique": it is a 400 "Name has
                    already been taken" (exact, case-sensitive match)
  ratelimit_headers "sent" | "none": no x-ratelimit-* / per-min-x-ratelimit-*
                    header on any answer (their names are unconfirmed live:
                    a client must cope with a 429 alone); the limits and
                    Retry-After (retry_after) stay
  live              true: shorthand for dup_message "address", lookup_rows
                    "partial", reset_format "ddmmyy", subscription "ids", radio,
                    emails_array, create_status 200 (not the lag, the 403s,
                    external_id_key or unknown_type); modes named beside it
                    win. false: those seven back to their defaults.
--modes JSON gives the modes a reset returns to (e.g. '{"live":true}'); a bad
one stops the double at start.

Control API (no auth, not recorded, faults never apply):
  POST /_double/reset     clears contacts (with their links), lists, accounts,
                          notes, request log, faults and rate counters, the
                          stand-ins' records and settings, and restarts the ids;
                          optional body {"hour_limit":N,"minute_limit":N,
                          "hour_window":S,"minute_window":S (1-3600),
                          "retry_after":bool,"key":"...","modes":{..}}; a
                          setting or mode not given returns to its command-line
                          value. An unknown mode or a bad value: 400, and
                          nothing is reset.
  GET  /_double/modes     {"modes":{..}}: every mode in force ("live" expanded)
  POST /_double/fields    changes the field list until the next reset:
                          {"add":{"name":"cf_x","label":"X","type":"text"}}
                          {"remove":"cf_x"}
                          {"update":{"name":"cf_x","label":"New label"}}
                          -> 200 {"fields":[..]}
  GET  /_double/contacts  {"contacts":[..]} in id order; each carries
                          "sales_accounts":[{"id":N,"is_primary":B}..] (always)
  POST /_double/contacts  seeds one contact (a contact object, validated like
                          the API, uniqueness and links included) -> 201
                          {"contact":{..}} (shaped as in GET)
  GET  /_double/lists     {"lists":[{"id":N,"name":S,"contacts":[ids ascending]}..]}
                          in id order
  POST /_double/lists     {"name":S}: seeds a list, checked like POST /lists
                          -> 201 {"list":{"id":N,"name":S,"contacts":[]}}
  GET  /_double/accounts  {"sales_accounts":[{"id":N,"name":S}..]} in id order
  GET  /_double/notes     {"notes":[{"id","description","targetable_type",
                          "targetable_id"}..]} in id order
  GET  /_double/rate      {"now":T,"calls":N,"refused":N,"hour"|"minute":
                          {"limit":N,"seconds":S,"windows":[{"start":T,
                          "counted":N,"refused":N}..]}}: calls = API requests
                          rate-checked since the reset, refused = those answered
                          429 by a limit; per limited window kind, every window
                          since the reset, oldest first (the last 1000), T in
                          seconds since the reset, counted = calls let through
                          in it, refused = calls refused in it (by any limit)
  GET  /_double/requests  {"requests":[{"at" (seconds since the reset),
                          "method","path","query","headers"
                          (lower-cased names),"body" (parsed JSON or null),"raw",
                          "conn":"ip:port","status"(0 = connection reset),
                          "fault": kind or null}]} (API requests only; the last
                          10000 are kept)
  POST /_double/fault     {"kind":"status","status":503,"count":N}
                          (with "location":URL a Location header too: a redirect)
                          {"kind":"delay","ms":M,"count":N}   sleep, then answer normally
                                                              (closed unanswered if a reset
                                                              came meanwhile)
                          {"kind":"reset","count":N}          close with RST, no answer
                          {"kind":"429","retry_after":S|null,"count":N}
                          {"kind":"clear"}                    drop all queued faults
                          count defaults to 1; -1 = until reset/clear. Faults queue
                          in order; the head applies to the next API request.
                          An optional "path" (e.g. "/contacts/upsert") makes a
                          fault wait for a request whose path ends with it, an
                          optional "method" ("GET", "POST", "PUT" or "DELETE")
                          for a request with that method (both: both must fit).
                          A fault with a path that a stand-in's path (below) ends
                          with (e.g. "/_hooks/crm", "/v1/identify") applies to that
                          stand-in too; a fault without a path only to API requests.
  POST /_double/hooks     configures webhook receivers by NAME, merged into what is
                          set: {"secrets":{NAME:S},"status":{NAME:N},"delay_ms":
                          {NAME:MS},"retry_after":{NAME:S}}; null for a NAME forgets
                          its setting -> 200 {"ok":true}
  GET  /_double/hooks     {"hooks":[..]}: every webhook request received, in order
  POST /_double/segment   configures the Segment stand-in, merged: {"write_key":S|null,
                          "status":N|null,"delay_ms":MS} -> 200 {"ok":true}
  GET  /_double/segment   {"messages":[..],"refused":[{"status":N,"error":S}..]}
  POST /_double/captcha   configures the CAPTCHA stand-ins, merged: {"secret":S|null,
                          "mode":"normal"|"down"|"slow"|"500"|"garbage",
                          "slow_ms":MS,"hostname":S|null,"action":S|null}
                          -> 200 {"ok":true} (hostname and action: what a
                          success says, below)
  GET  /_double/captcha   {"requests":[..],"mode":M}: every siteverify request
                          received, in order (see /_captcha/ below)

Stand-ins beside the API, for fmgate's other destinations (not in
/_double/requests, not rate-limited, no API key):
  POST /_hooks/NAME       a webhook receiver (NAME: letters, digits, "-", "_", ".").
                          Records {"name","timestamp" (X-Fmgate-Timestamp),
                          "signature" (X-Fmgate-Signature),"content_type",
                          "user_agent","body" (parsed JSON or null),"raw",
                          "verified","status" (0 until answered or when a reset
                          fault dropped it),"fault"}; "verified" is true when the
                          signature is "sha256=" + hex HMAC-SHA256 of TIMESTAMP "."
                          RAW BODY under the secret set for NAME (false without
                          one). Every request is recorded, repeats of a messageId
                          too. After delay_ms[NAME] it answers status[NAME]
                          (default 200) with {"ok":true} for a 2xx, {"ok":false}
                          otherwise, and Retry-After: retry_after[NAME] when set.
  POST /v1/identify       Segment's HTTP Tracking API (endpoint
                          http://127.0.0.1:PORT/v1). After delay_ms: 401
                          {"success":false} unless Authorization is Basic
                          base64(WRITE_KEY + ":") for the write key set (none set:
                          every request is refused); 400 {"success":false} for a
                          body over 32768 bytes, or one that is not a JSON object;
                          the status set, if any, with {"success":false}; else 200
                          {"success":true} and the message is recorded. The live
                          Segment API answers 200 {"success":true} even to an
                          unknown write key (keys are checked downstream and the
                          events dropped; only an empty or malformed key gets a
                          400), while RudderStack's data plane answers 401: the
                          double refuses as RudderStack does, so that a refused
                          forward can be tested. Its 400 bodies are not known.
  POST /_captcha/PROVIDER siteverify of Cloudflare Turnstile (PROVIDER "turnstile"),
                          hCaptcha ("hcaptcha") and Google reCAPTCHA ("recaptcha"):
                          an application/x-www-form-urlencoded body of secret,
                          response (the token) and remoteip. Records {"provider",
                          "content_type","secret_present","secret_ok","token",
                          "remoteip" (null when absent),"answer" (null when none)}.
                          By mode: "down" closes the connection unanswered (RST);
                          "slow" sleeps slow_ms (default 6000) first; "500" answers
                          500 {"success":false}; "garbage" answers 200 with a body
                          that is no JSON; "normal" (the default) answers 200 as the
                          provider does: success false with error-codes
                          ["missing-input-secret"] or ["invalid-input-secret"] unless
                          the secret is the one set (none set: every secret is
                          refused), ["missing-input-response"] for no token,
                          ["timeout-or-duplicate"] for a token this provider saw
                          before (tokens are single-use), success true for a token
                          "pass", "pass-SCORE" or either followed by "_TAG" (TAG:
                          letters and digits, to make tokens unique), and
                          ["invalid-input-response"] for any other. A success
                          carries challenge_ts, "hostname" (the one set; default
                          "localhost"; none when set to null), with "pass-SCORE"
                          a "score" (reCAPTCHA, hCaptcha Enterprise; Turnstile
                          never returns one), and the action set (default null):
                          Turnstile's always ("" for null, as for a widget that
                          names none), reCAPTCHA's with a score (v3; none for
                          null), hCaptcha's never. A body that is not
                          form-encoded: 400.
"""

import argparse
import base64
import collections
import copy
import datetime
import hashlib
import hmac
import json
import math
import os
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_PREFIX = "/crm/sales/api"
MAX_BODY = 1024 * 1024          # bytes of one request body we accept
MAX_LOGGED_REQUESTS = 10000     # request log entries kept (oldest dropped)
MAX_LOGGED_WINDOWS = 1000       # rate windows kept per kind (oldest dropped)
HOOK_PREFIX = "/_hooks/"        # webhook receivers: /_hooks/NAME
SEGMENT_IDENTIFY = "/v1/identify"
SEGMENT_MAX_BODY = 32 * 1024    # Segment's limit for one call
CAPTCHA_PREFIX = "/_captcha/"   # siteverify stand-ins: /_captcha/PROVIDER
CAPTCHA_PROVIDERS = ("turnstile", "hcaptcha", "recaptcha")
CAPTCHA_MODES = ("normal", "down", "slow", "500", "garbage")
CAPTCHA_SLOW_MS = 6000          # past fmgate's CAPTCHA_TIMEOUT_MS (5000)
HOOK_SETTINGS = ("secrets", "status", "delay_ms", "retry_after")

# ---------------------------------------------------------------------------
# The field list. Built-ins first (default=True), then configurable cf_* ones.
# "type" drives validation of values sent in a contact.
# ---------------------------------------------------------------------------


def _f(fid, name, label, ftype, choices=None, default=True):
    field = {"id": fid, "name": name, "label": label, "type": ftype,
             "required": False, "default": default}
    if choices is not None:
        field["choices"] = [{"id": cid, "value": val} for cid, val in choices]
    return field


FIELDS = [
    _f(1, "first_name", "First name", "text"),
    _f(2, "last_name", "Last name", "text"),
    _f(3, "emails", "Emails", "group_field"),
    _f(4, "job_title", "Job title", "text"),
    _f(5, "work_number", "Work", "text"),
    _f(6, "mobile_number", "Mobile", "text"),
    _f(7, "address", "Address", "text"),
    _f(8, "city", "City", "text"),
    _f(9, "state", "State", "text"),
    _f(10, "zipcode", "Zipcode", "text"),
    _f(11, "country", "Country", "text"),
    _f(12, "external_id", "External ID", "text"),
    _f(13, "owner_id", "Owner", "dropdown", [(1, "Ann Admin"), (2, "Bob Sales")]),
    _f(14, "territory_id", "Territory", "dropdown", [(31, "EMEA"), (32, "Americas")]),
    _f(15, "lead_source_id", "Source", "dropdown", [(41, "Web"), (42, "Referral")]),
    _f(16, "contact_status_id", "Status", "dropdown", [(51, "New"), (52, "Working")]),
    _f(17, "lifecycle_stage_id", "Lifecycle stage", "dropdown",
       [(71, "Lead"), (72, "Sales Qualified Lead"), (73, "Customer")]),
    _f(18, "subscription_status", "Subscription status", "dropdown",
       [(0, "Not subscribed"), (1, "Subscribed"), (2, "Unsubscribed")]),
    _f(19, "subscription_types", "Subscription types", "text"),
    _f(20, "time_zone", "Time zone", "text"),
    _f(21, "medium", "Medium", "text"),
    _f(22, "keyword", "Keyword", "text"),
    _f(23, "campaign_id", "Campaign", "number"),
    _f(24, "tags", "Tags", "auto_complete"),
    _f(101, "cf_industry", "Industry", "dropdown",
       [(7, "Music"), (8, "Software"), (9, "Retail")], default=False),
    _f(102, "cf_employees", "Employees", "number", default=False),
    _f(103, "cf_newsletter", "Newsletter", "checkbox", default=False),
    _f(104, "cf_signup_source", "Signup Source", "text", default=False),
    _f(105, "cf_birthday", "Birthday", "date", default=False),
    _f(106, "cf_interests", "Interests", "multi_select_dropdown",
       [(81, "Pricing"), (82, "Product news"), (83, "Events")], default=False),
    _f(107, "cf_notes", "Notes", "textarea", default=False),
    _f(108, "cf_region", "Region", "text", default=False),
]
FIELDS[-2]["max_length"] = 40
UNIQUE_KEYS = ("emails", "external_id", "mobile_number")
FIELD_TYPES = ("text", "textarea", "number", "checkbox", "dropdown", "date",
               "multi_select_dropdown", "auto_complete", "group_field")

# ---------------------------------------------------------------------------
# Modes: behaviours seen from the live service that differ from the documented
# picture above. Each has a default (the documented behaviour) and is chosen by
# --modes or by /_double/reset {"modes": {..}}.
# ---------------------------------------------------------------------------

MODE_DEFAULTS = {
    "dup_message": "documented",
    "lookup_rows": "full",
    "lookup_lag_ms": 0,
    "lookup_403_every": 0,
    "external_id_key": "accepted",
    "reset_format": "seconds",
    "subscription": "text",
    "radio": False,
    "unknown_type": False,
    "emails_array": False,
    "create_status": 201,
    "lists_per_page": 25,
    "list_names": "any",
    "ratelimit_headers": "sent",
}
MODE_CHOICES = {
    "dup_message": ("documented", "address", "dutch"),
    "lookup_rows": ("full", "partial"),
    "external_id_key": ("accepted", "refused"),
    "reset_format": ("seconds", "ddmmyy", "unix", "far", "garbage"),
    "subscription": ("text", "ids"),
    "create_status": (201, 200),
    "list_names": ("any", "unique"),
    "ratelimit_headers": ("sent", "none"),
}
MODE_COUNTS = ("lookup_lag_ms", "lookup_403_every")         # non-negative integers
MODE_SIZES = ("lists_per_page",)                             # positive integers
MODE_FLAGS = ("radio", "unknown_type", "emails_array")       # true or false
# "live": true stands for these
LIVE_MODES = {
    "dup_message": "address",
    "lookup_rows": "partial",
    "reset_format": "ddmmyy",
    "subscription": "ids",
    "radio": True,
    "emails_array": True,
    "create_status": 200,
}
# subscription "ids": both fields take choice ids, not the choices' texts
SUBSCRIPTION_IDS_FIELDS = {
    "subscription_status": dict(type="dropdown", choices=[
        {"id": 1, "value": "Subscribed"}, {"id": 2, "value": "Unsubscribed"},
        {"id": 3, "value": "Not subscribed"}, {"id": 4, "value": "Reported as spam"}]),
    "subscription_types": dict(type="multi_select_dropdown", choices=[
        {"id": 1, "value": "Newsletter"}, {"id": 2, "value": "Promotions"},
        {"id": 3, "value": "Events"}, {"id": 4, "value": "Product updates"},
        {"id": 5, "value": "Surveys"}]),
}
RADIO_FIELD = {"id": 109, "name": "cf_contact_pref", "label": "Preferred contact",
               "type": "radio", "required": False, "default": False,
               "choices": [{"id": 31, "value": "Email"}, {"id": 32, "value": "Phone"}]}
UNKNOWN_TYPE_FIELD = {"id": 110, "name": "cf_score", "label": "Score", "type": "slider",
                      "required": False, "default": False}
# The messages the modes add: (English, Dutch)
MSG_FORBIDDEN = ("You don't have access to this resource.",
                 "Je hebt geen toegang tot deze bron.")
MSG_BAD_IDENTIFIER = ("Invalid unique identifier", "Ongeldige unieke identificatie")


class BadRequest(Exception):
    """A 400 (or other status) answered in the error envelope."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def resolve_modes(spec, base):
    """The modes in force: base (a complete set) with the object spec applied;
    "live" first, then the modes named beside it. Raises BadRequest."""
    if not isinstance(spec, dict):
        raise BadRequest("modes must be an object")
    for name in spec:
        if name != "live" and name not in MODE_DEFAULTS:
            raise BadRequest("Unknown mode: %s" % name)
    modes = dict(base)
    if "live" in spec:
        if not isinstance(spec["live"], bool):
            raise BadRequest("mode live must be true or false")
        for name, value in LIVE_MODES.items():
            # live false: back to the documented behaviour for these
            modes[name] = value if spec["live"] else MODE_DEFAULTS[name]
    for name, value in spec.items():
        if name == "live":
            continue
        if name in MODE_COUNTS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise BadRequest("mode %s must be a non-negative integer" % name)
        elif name in MODE_SIZES:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise BadRequest("mode %s must be a positive integer" % name)
        elif name in MODE_FLAGS:
            if not isinstance(value, bool):
                raise BadRequest("mode %s must be true or false" % name)
        elif (isinstance(value, bool) or not isinstance(value, (str, int))
              or value not in MODE_CHOICES[name]):
            raise BadRequest("mode %s must be one of: %s" % (
                name, ", ".join(str(c) for c in MODE_CHOICES[name])))
        modes[name] = value
    return modes


def mode_fields(modes):
    """The field list a reset starts from under these modes."""
    fields = copy.deepcopy(FIELDS)
    if modes["subscription"] == "ids":
        for field in fields:
            if field["name"] in SUBSCRIPTION_IDS_FIELDS:
                field.update(copy.deepcopy(SUBSCRIPTION_IDS_FIELDS[field["name"]]))
    if modes["radio"]:
        fields.append(copy.deepcopy(RADIO_FIELD))
    if modes["unknown_type"]:
        fields.append(copy.deepcopy(UNKNOWN_TYPE_FIELD))
    return fields


def check_value(field, value, by_id=False):
    """Raises BadRequest unless value fits the field's type; null always fits.
    by_id: a dropdown takes the choice's id, a multi-select the ids joined by
    ';' (subscription "ids" mode)."""
    if value is None:
        return
    name, ftype = field["name"], field["type"]
    ok, what = True, ""
    if ftype == "number":
        # bool is an int in Python; JSON true is not a number
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        what = "a number"
    elif ftype == "checkbox":
        ok, what = isinstance(value, bool), "true or false"
    elif ftype == "date":
        what = "a date YYYY-MM-DD"
        ok = isinstance(value, str) and len(value) == 10
        if ok:
            try:
                datetime.date.fromisoformat(value)
            except ValueError:
                ok = False
    elif ftype in ("dropdown", "radio"):
        choices = field.get("choices", [])
        if name.endswith("_id") or by_id:
            # id fields take the choice's id, a number
            ids = [c["id"] for c in choices]
            ok = (isinstance(value, int) and not isinstance(value, bool)
                  and value in ids)
            what = "one of the ids: " + ", ".join(str(i) for i in ids)
        else:
            values = [c["value"] for c in choices]
            ok = isinstance(value, str) and value in values
            what = "one of: " + ", ".join(values)
            if name == "subscription_status" and not ok:
                # the documented picture is silent on its form; the live
                # service stores the id, so the id is taken here too
                ok = (isinstance(value, int) and not isinstance(value, bool)
                      and value in [c["id"] for c in choices])
    elif ftype == "multi_select_dropdown" and by_id:
        ids = [str(c["id"]) for c in field.get("choices", [])]
        ok = (isinstance(value, str) and value != ""
              and all(v in ids for v in value.split(";")))
        what = "choice ids joined by ';' from: " + ", ".join(ids)
    elif ftype == "multi_select_dropdown":
        # one string, the choices' values joined by ";" (fmgate's encoding;
        # unconfirmed for the real service)
        values = [c["value"] for c in field.get("choices", [])]
        ok = (isinstance(value, str) and value != ""
              and all(v in values for v in value.split(";")))
        what = "choices joined by ';' from: " + ", ".join(values)
    elif ftype == "auto_complete":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        what = "a list of strings"
    elif ftype == "slider":
        # unknown_type mode: a type no client knows; any JSON scalar
        ok = isinstance(value, (str, int, float, bool))
        what = "a scalar"
    else:  # text, textarea, group_field (emails: one string here)
        ok, what = isinstance(value, str), "a string"
        if ok and "max_length" in field and len(value) > field["max_length"]:
            ok, what = False, "at most %d characters" % field["max_length"]
    if not ok:
        raise BadRequest("Invalid value for %s: expected %s" % (name, what))


def validate_field(field, own_type=None):
    """Checks a field added or changed through /_double/fields; own_type: the
    type the field has now (a mode's field keeps its "radio" or "slider")."""
    if not isinstance(field, dict):
        raise BadRequest("a field is an object")
    name, ftype = field.get("name"), field.get("type")
    if not isinstance(name, str) or not name:
        raise BadRequest("a field needs a name")
    if ftype not in FIELD_TYPES and (own_type is None or ftype != own_type):
        raise BadRequest("type must be one of: " + ", ".join(FIELD_TYPES))
    if not isinstance(field.get("label", ""), str):
        raise BadRequest("label must be a string")
    for choice in field.get("choices", []):
        if (not isinstance(choice, dict) or not isinstance(choice.get("value"), str)
                or not isinstance(choice.get("id"), int)):
            raise BadRequest("choices are objects with an integer id and a string value")
    ml = field.get("max_length")
    if ml is not None and (not isinstance(ml, int) or isinstance(ml, bool) or ml < 1):
        raise BadRequest("max_length must be a positive integer")
    field.setdefault("label", name)
    field.setdefault("default", not name.startswith("cf_"))
    field.setdefault("required", False)


def validate_contact(contact, fields, by_id=()):
    """Checks a contact object against the field list; returns (builtins,
    custom) dicts to merge. by_id: names of the fields that take choice ids."""
    builtin = {f["name"]: f for f in fields if f["default"]}
    custom_fields = {f["name"]: f for f in fields if not f["default"]}
    if not isinstance(contact, dict):
        raise BadRequest("contact must be an object")
    builtins, custom = {}, {}
    for key, value in contact.items():
        if key == "custom_fields":
            continue  # the real service ignores the plural silently
        if key == "custom_field":
            if not isinstance(value, dict):
                raise BadRequest("custom_field must be an object")
            for cname, cvalue in value.items():
                if cname not in custom_fields:
                    raise BadRequest("Unknown custom field: %s" % cname)
                check_value(custom_fields[cname], cvalue, cname in by_id)
                custom[cname] = cvalue
            continue
        if key not in builtin:
            raise BadRequest("Unknown attribute: %s" % key)
        check_value(builtin[key], value, key in by_id)
        builtins[key] = value
    return builtins, custom


def is_id(value):
    """An integer id in JSON (true and false are not ids)."""
    return isinstance(value, int) and not isinstance(value, bool)


def split_links(contact):
    """(contact object without its "sales_accounts" key, whether it had one,
    that key's value): the links are no field of the field list."""
    if not isinstance(contact, dict) or "sales_accounts" not in contact:
        return contact, False, None
    rest = dict(contact)
    return rest, True, rest.pop("sales_accounts")


def validate_links(links, accounts):
    """Checks a contact's "sales_accounts" value against the accounts held;
    returns the links to store, [{"id": N, "is_primary": B}] in the order given."""
    if not isinstance(links, list):
        raise BadRequest("Invalid sales_accounts")
    out = []
    for link in links:
        if (not isinstance(link, dict) or not is_id(link.get("id"))
                or not isinstance(link.get("is_primary", False), bool)
                or any(link["id"] == o["id"] for o in out)):
            raise BadRequest("Invalid sales_accounts")
        out.append({"id": link["id"], "is_primary": link.get("is_primary", False)})
    unknown = sorted({o["id"] for o in out if o["id"] not in accounts})
    if unknown:
        raise BadRequest("Invalid sales account ids: %s"
                         % ", ".join(str(i) for i in unknown))
    if sum(1 for o in out if o["is_primary"]) > 1:
        raise BadRequest("Only one primary sales account")
    return out


def list_name(body):
    """The name in a POST /lists body, {"list": {"name": S}} or {"name": S}."""
    inner = body.get("list") if isinstance(body.get("list"), dict) else body
    name = inner.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("Name can't be blank")
    return name


def includes(query):
    """The names in ?include=a,b (several include parameters add up)."""
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    return set(",".join(params.get("include", [])).split(","))


def norm_email(value):
    return value.lower() if isinstance(value, str) else None


# ---------------------------------------------------------------------------
# State shared by all connection threads; every access holds state.lock.
# ---------------------------------------------------------------------------


class State:
    def __init__(self, key, hour_limit, minute_limit, retry_after, modes=None,
                 hour_window=3600, minute_window=60):
        self.lock = threading.Lock()
        self.defaults = {"key": key, "hour_limit": hour_limit,
                         "minute_limit": minute_limit, "retry_after": retry_after,
                         "hour_window": hour_window, "minute_window": minute_window}
        # the modes a reset returns to: the built-in defaults with --modes applied
        self.default_modes = resolve_modes(modes or {}, MODE_DEFAULTS)
        self.reset({})

    def reset(self, settings):
        """Back to an empty double; settings not given take the defaults."""
        conf = dict(self.defaults)
        for name in conf:
            if name in settings:
                conf[name] = settings[name]
        for name in ("hour_limit", "minute_limit"):
            if not isinstance(conf[name], int) or isinstance(conf[name], bool) \
                    or conf[name] < 0:
                raise BadRequest("%s must be a non-negative integer" % name)
        for name in ("hour_window", "minute_window"):
            if not isinstance(conf[name], int) or isinstance(conf[name], bool) \
                    or not 1 <= conf[name] <= 3600:
                raise BadRequest("%s must be an integer from 1 to 3600" % name)
        if not isinstance(conf["key"], str) or not conf["key"]:
            raise BadRequest("key must be a non-empty string")
        if not isinstance(conf["retry_after"], bool):
            raise BadRequest("retry_after must be true or false")
        modes = resolve_modes(settings.get("modes", {}), self.default_modes)
        # A request delayed across a reset belongs to the test before it: it
        # must not change the state the next test starts from.
        self.generation = getattr(self, "generation", 0) + 1
        self.key = conf["key"]
        self.hour_limit = conf["hour_limit"]
        self.minute_limit = conf["minute_limit"]
        self.hour_window = conf["hour_window"]
        self.minute_window = conf["minute_window"]
        self.started = time.monotonic()  # what a request's "at" counts from
        self.retry_after = conf["retry_after"]
        self.modes = modes
        # names of the fields that take choice ids (subscription "ids")
        self.by_id = (set(SUBSCRIPTION_IDS_FIELDS) if modes["subscription"] == "ids"
                      else set())
        self.lookups = 0             # /lookup and /filtered_search requests (403 mode)
        # id -> {"fields": {..}, "custom": {..}, "email_id": N,
        #        "written": monotonic time of the last API write,
        #        "links": [{"id": account id, "is_primary": B}]}
        self.contacts = {}
        self.next_id = 70054866601
        self.next_email_id = 70000400001
        # Each kind counts from its own base, so an id of one kind sent where
        # another is meant finds nothing.
        self.lists = {}              # id -> {"name": S, "contacts": set of ids}
        self.next_list_id = 7001
        self.accounts = {}           # id -> {"name": S}
        self.next_account_id = 5001
        self.notes = {}              # id -> the note as answered
        self.next_note_id = 9001
        self.requests = collections.deque(maxlen=MAX_LOGGED_REQUESTS)
        self.faults = collections.deque()
        self.fields = mode_fields(modes)
        # key -> {"hour": [start, counted, refused], "minute": [..]} (limited kinds)
        self.windows = {}
        # every window of the current key, oldest first (GET /_double/rate)
        self.window_log = {"hour": [], "minute": []}
        self.calls = self.refused = 0   # rate-checked requests, those refused
        # the stand-ins: webhook receivers and Segment's tracking API
        self.hooks = []              # every webhook request, as recorded
        self.hook_conf = {name: {} for name in HOOK_SETTINGS}   # setting -> NAME -> value
        self.segment_conf = {"write_key": None, "status": None, "delay_ms": 0}
        self.segment_messages = []
        self.segment_refused = []
        # the CAPTCHA stand-ins: settings, requests, tokens seen per provider
        self.captcha_conf = {"secret": None, "mode": "normal", "slow_ms": CAPTCHA_SLOW_MS,
                             "hostname": "localhost", "action": None}
        self.captcha_requests = []
        self.captcha_seen = {name: set() for name in CAPTCHA_PROVIDERS}

    # -- contacts ----------------------------------------------------------

    def find(self, key, value):
        """Id of the contact whose unique `key` equals value, or None."""
        for cid, c in self.contacts.items():
            held = c["fields"].get(key)
            if held is None:
                continue
            if key == "emails":
                if norm_email(held) == norm_email(value):
                    return cid
            elif held == value:
                return cid
        return None

    def message(self, texts):
        """The English or the Dutch one of a (English, Dutch) pair."""
        return texts[1] if self.modes["dup_message"] == "dutch" else texts[0]

    def taken(self, key, value):
        """The message refusing a duplicate email or external_id."""
        form = self.modes["dup_message"]
        if form == "address":
            return "%s already exists." % value
        if form == "dutch":
            return "%s bestaat al." % value
        return ("Email has already been taken" if key == "emails"
                else "External has already been taken")

    def check_unique(self, fields, self_id):
        """400 when fields would give another contact's email or external_id."""
        email = fields.get("emails")
        if email is not None:
            other = self.find("emails", email)
            if other is not None and other != self_id:
                raise BadRequest(self.taken("emails", email))
        ext = fields.get("external_id")
        if ext is not None:
            other = self.find("external_id", ext)
            if other is not None and other != self_id:
                raise BadRequest(self.taken("external_id", ext))

    def save(self, cid, builtins, custom, indexed=False):
        """Creates (cid None) or merges into contact cid; returns its id.
        indexed: the write is visible to lookups at once (a seeded contact);
        otherwise it is younger than lookup_lag_ms for that long."""
        if cid is None:
            self.check_unique(builtins, None)
            cid = self.next_id
            self.next_id += 1
            self.contacts[cid] = {"fields": {}, "custom": {}, "links": [],
                                  "email_id": self.next_email_id}
            self.next_email_id += 1
        else:
            merged = dict(self.contacts[cid]["fields"])
            merged.update(builtins)
            self.check_unique(merged, cid)
        stored = self.contacts[cid]
        stored["written"] = None if indexed else time.monotonic()
        for name, value in builtins.items():
            if value is None:
                stored["fields"].pop(name, None)
            else:
                stored["fields"][name] = value
        for name, value in custom.items():
            if value is None:
                stored["custom"].pop(name, None)
            else:
                stored["custom"][name] = value
        return cid

    def render(self, cid):
        c = self.contacts[cid]
        out = {"id": cid, "email": c["fields"].get("emails"),
               "emails": c["fields"].get("emails"),
               "external_id": c["fields"].get("external_id")}
        for name, value in c["fields"].items():
            out.setdefault(name, value)
        out["custom_field"] = dict(c["custom"])
        return out

    def render_control(self, cid):
        """A contact as /_double/contacts shows it: links always, bare."""
        out = self.render(cid)
        out["sales_accounts"] = [dict(link) for link in self.contacts[cid]["links"]]
        return out

    def render_api(self, cid, row=False, include=()):
        """A contact as an API answer carries it under the modes; row: a row of
        /lookup or /filtered_search (lookup_rows "partial" trims it); include:
        the names of ?include (only "sales_accounts" adds anything)."""
        out = self.render(cid)
        if "sales_accounts" in include:
            out["sales_accounts"] = [
                {"id": link["id"], "name": self.accounts[link["id"]]["name"],
                 "is_primary": link["is_primary"]}
                for link in self.contacts[cid]["links"]]
        if row and self.modes["lookup_rows"] == "partial":
            first = out.get("first_name")
            last = out.get("last_name")
            display = " ".join(p for p in (first, last) if p) or out["email"]
            out = {"id": cid, "first_name": first, "last_name": last,
                   "display_name": display, "email": out["email"],
                   "emails": out["emails"]}
        if self.modes["emails_array"]:
            email = out["email"]
            out["emails"] = [] if email is None else [
                {"id": self.contacts[cid]["email_id"], "value": email,
                 "is_primary": True, "label": None, "_destroy": False}]
        return out

    def indexed(self, cid):
        """False while the contact's last write is younger than lookup_lag_ms."""
        lag = self.modes["lookup_lag_ms"]
        written = self.contacts[cid].get("written")
        return lag <= 0 or written is None or time.monotonic() - written >= lag / 1000.0

    # -- lists, accounts, notes -------------------------------------------------

    def add_list(self, body):
        """Creates a list from a POST /lists body; returns its id."""
        name = list_name(body)
        if (self.modes["list_names"] == "unique"
                and any(lst["name"] == name for lst in self.lists.values())):
            raise BadRequest("Name has already been taken")
        lid = self.next_list_id
        self.next_list_id += 1
        self.lists[lid] = {"name": name, "contacts": set()}
        return lid

    def list_page(self, query):
        """GET /lists?page=N: one page of lists in id order, with meta."""
        params = urllib.parse.parse_qs(query, keep_blank_values=True)
        page = params.get("page", ["1"])[0]
        if not (page.isascii() and page.isdigit()) or int(page) < 1:
            raise BadRequest("Invalid page")
        size = self.modes["lists_per_page"]
        ids = sorted(self.lists)
        start = (int(page) - 1) * size
        return {"lists": [{"id": lid, "name": self.lists[lid]["name"]}
                          for lid in ids[start:start + size]],
                "meta": {"total_pages": -(-len(ids) // size), "total": len(ids)}}

    def add_to_list(self, lid, body):
        """PUT /lists/ID/add_contacts: all the ids join the list, or none."""
        if lid not in self.lists:
            raise BadRequest("Record not found", 404)
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids or not all(is_id(i) for i in ids):
            raise BadRequest("ids must be a non-empty list of contact ids")
        unknown = sorted({i for i in ids if i not in self.contacts})
        if unknown:
            raise BadRequest("Invalid contact ids: %s"
                             % ", ".join(str(i) for i in unknown))
        self.lists[lid]["contacts"].update(ids)

    def upsert_account(self, body):
        """POST /sales_accounts/upsert; returns (created, id)."""
        ident = body.get("unique_identifier")
        if (not isinstance(ident, dict) or not isinstance(ident.get("name"), str)
                or not ident["name"]):
            raise BadRequest("unique_identifier must hold name")
        account = body.get("sales_account")
        if not isinstance(account, dict):
            raise BadRequest("sales_account must be an object")
        name = account.get("name")
        if "name" in account and (not isinstance(name, str) or not name):
            raise BadRequest("Invalid value for name: expected a string")
        key = ident["name"].lower()
        for aid, held in self.accounts.items():
            if held["name"].lower() == key:
                # an update: the name sent, if any, is the new one
                held["name"] = name or held["name"]
                return False, aid
        aid = self.next_account_id
        self.next_account_id += 1
        self.accounts[aid] = {"name": name or ident["name"]}
        return True, aid

    def add_note(self, body):
        """POST /notes; returns the note made (never merged with another)."""
        note = body.get("note")
        if not isinstance(note, dict):
            raise BadRequest("note must be an object")
        text = note.get("description")
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("Description can't be blank")
        if note.get("targetable_type") != "Contact":
            raise BadRequest("Invalid targetable_type")
        target = note.get("targetable_id")
        if not is_id(target) or target not in self.contacts:
            raise BadRequest("Record not found", 404)
        nid = self.next_note_id
        self.next_note_id += 1
        self.notes[nid] = {"id": nid, "description": text,
                           "targetable_type": "Contact", "targetable_id": target}
        return self.notes[nid]

    # -- field list ------------------------------------------------------------

    def change_fields(self, body):
        """{"add": FIELD} | {"remove": NAME} | {"update": {"name": NAME, ..}}:
        changes the list that GET /settings/contacts/fields serves and that
        contacts are validated against, until the next reset."""
        if not isinstance(body, dict) or len(body) != 1:
            raise BadRequest("fields takes one of add, remove, update")
        (op, arg), = body.items()
        names = [f["name"] for f in self.fields]
        if op == "add":
            if isinstance(arg, dict):
                arg.setdefault("id", max(f["id"] for f in self.fields) + 1)
            validate_field(arg)
            if arg["name"] in names:
                raise BadRequest("field %s exists" % arg["name"])
            self.fields.append(arg)
        elif op == "remove":
            if arg not in names:
                raise BadRequest("no field %s" % arg)
            self.fields = [f for f in self.fields if f["name"] != arg]
        elif op == "update":
            if not isinstance(arg, dict) or arg.get("name") not in names:
                raise BadRequest("update needs the name of a field")
            i = names.index(arg["name"])
            merged = dict(self.fields[i])
            merged.update(arg)
            validate_field(merged, self.fields[i]["type"])
            self.fields[i] = merged
        else:
            raise BadRequest("fields takes one of add, remove, update")

    # -- rate limits ---------------------------------------------------------

    def rate_check(self, key):
        """Counts one request. Returns (headers, over, retry_after_s)."""
        now = time.monotonic()
        win = self.windows.setdefault(key, {})
        limited = []
        for name, length, limit, prefix in (
                ("hour", self.hour_window, self.hour_limit, "x-ratelimit-"),
                ("minute", self.minute_window, self.minute_limit, "per-min-x-ratelimit-")):
            if limit <= 0:
                continue
            w = win.get(name)
            if w is None or now - w[0] >= length:
                w = win[name] = [now, 0, 0]
                self.window_log[name].append(w)
                del self.window_log[name][:-MAX_LOGGED_WINDOWS]
            limited.append((w, length, limit, prefix))
        # A call over any limit is refused, and counts in no window.
        over = any(w[1] >= limit for w, _, limit, _ in limited)
        self.calls += 1
        self.refused += over
        headers, wait = [], 0
        for w, length, limit, prefix in limited:
            reset = max(1, math.ceil(w[0] + length - now))
            if over:
                w[2] += 1
                if w[1] >= limit:
                    wait = max(wait, reset)
            else:
                w[1] += 1
            headers += [(prefix + "limit", str(limit)),
                        (prefix + "remaining", str(max(0, limit - w[1]))),
                        (prefix + "reset", self.reset_text(reset))]
        if self.modes["ratelimit_headers"] == "none":
            headers = []
        return headers, over, wait

    def rate_report(self):
        """The rate windows of the current key, for GET /_double/rate."""
        out = {"now": round(time.monotonic() - self.started, 4),
               "calls": self.calls, "refused": self.refused}
        for name, length, limit in (("hour", self.hour_window, self.hour_limit),
                                    ("minute", self.minute_window, self.minute_limit)):
            out[name] = {"limit": limit, "seconds": length, "windows": [
                {"start": round(w[0] - self.started, 4), "counted": w[1], "refused": w[2]}
                for w in self.window_log[name]]}
        return out

    def reset_text(self, seconds):
        """An x-ratelimit-reset value for a window restarting in seconds."""
        form = self.modes["reset_format"]
        if form == "seconds":
            return str(seconds)
        at = int(time.time()) + seconds
        if form == "unix":
            return str(at)
        if form == "ddmmyy":
            return time.strftime("%d%m%y%H%M%S", time.gmtime(at))
        if form == "far":
            return "311299235959"
        return "soon"

    # -- faults --------------------------------------------------------------

    def take_fault(self, method, path, standin=False):
        """The fault that applies to this request, or None. standin: a request
        to a stand-in, which only a fault naming its path applies to."""
        if not self.faults:
            return None
        fault = self.faults[0]
        if standin and not fault.get("path"):
            return None
        if fault.get("path") and not path.endswith(fault["path"]):
            return None
        if fault.get("method") and method != fault["method"]:
            return None
        if fault["count"] > 0:
            fault["count"] -= 1
            if fault["count"] == 0:
                self.faults.popleft()
        return fault


def is_count(value):
    """A non-negative JSON integer (true and false are not)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def change_hooks(conf, body):
    """Merges a /_double/hooks body into conf (setting -> NAME -> value); all
    or nothing. Raises BadRequest."""
    if not isinstance(body, dict) or not body:
        raise BadRequest("hooks takes an object of: " + ", ".join(HOOK_SETTINGS))
    for setting, names in body.items():
        if setting not in HOOK_SETTINGS:
            raise BadRequest("unknown hooks setting: %s" % setting)
        if not isinstance(names, dict):
            raise BadRequest("%s must map names to values" % setting)
        for name, value in names.items():
            if value is None:
                continue
            if setting == "secrets":
                ok = isinstance(value, str) and value != ""
            elif setting == "status":
                ok = is_count(value) and 200 <= value <= 599
            else:
                ok = is_count(value)
            if not ok:
                raise BadRequest("bad %s for %s" % (setting, name))
    for setting, names in body.items():
        for name, value in names.items():
            if value is None:
                conf[setting].pop(name, None)
            else:
                conf[setting][name] = value


def change_segment(conf, body):
    """Merges a /_double/segment body into conf; all or nothing."""
    if not isinstance(body, dict) or not body:
        raise BadRequest("segment takes an object of: write_key, status, delay_ms")
    for name, value in body.items():
        if name == "write_key":
            ok = value is None or (isinstance(value, str) and value != "")
        elif name == "status":
            ok = value is None or (is_count(value) and 200 <= value <= 599)
        elif name == "delay_ms":
            ok = is_count(value)
        else:
            raise BadRequest("unknown segment setting: %s" % name)
        if not ok:
            raise BadRequest("bad %s" % name)
    conf.update(body)


def change_captcha(conf, body):
    """Merges a /_double/captcha body into conf; all or nothing."""
    if not isinstance(body, dict) or not body:
        raise BadRequest("captcha takes an object of: secret, mode, slow_ms, hostname, "
                         "action")
    for name, value in body.items():
        if name in ("secret", "hostname", "action"):
            ok = value is None or (isinstance(value, str) and value != "")
        elif name == "mode":
            ok = value in CAPTCHA_MODES
        elif name == "slow_ms":
            ok = is_count(value)
        else:
            raise BadRequest("unknown captcha setting: %s" % name)
        if not ok:
            raise BadRequest("bad %s" % name)
    conf.update(body)


def captcha_token_score(token):
    """(passes, score or None) of a stand-in token (see the docstring)."""
    base = token.split("_", 1)
    if len(base) == 2 and not (base[1].isascii() and base[1].isalnum()):
        return False, None
    base = base[0]
    if base == "pass":
        return True, None
    if base.startswith("pass-"):
        try:
            score = float(base[5:])
        except ValueError:
            return False, None
        if 0 <= score <= 1:
            return True, score
    return False, None


def captcha_answer(provider, conf, seen, form):
    """The siteverify answer of provider to a parsed form body; notes the
    token in seen."""
    secret = form.get("secret", [""])[0]
    token = form.get("response", [""])[0]
    if not secret:
        return {"success": False, "error-codes": ["missing-input-secret"]}
    if conf["secret"] is None or not hmac.compare_digest(secret.encode(),
                                                         conf["secret"].encode()):
        return {"success": False, "error-codes": ["invalid-input-secret"]}
    if not token:
        return {"success": False, "error-codes": ["missing-input-response"]}
    if token in seen:
        return {"success": False, "error-codes": ["timeout-or-duplicate"]}
    seen.add(token)
    passes, score = captcha_token_score(token)
    if not passes:
        return {"success": False, "error-codes": ["invalid-input-response"]}
    answer = {"success": True,
              "challenge_ts": datetime.datetime.now(datetime.timezone.utc)
              .strftime("%Y-%m-%dT%H:%M:%SZ")}
    if conf["hostname"] is not None:
        answer["hostname"] = conf["hostname"]
    if provider == "turnstile":
        answer.update({"error-codes": [], "action": conf["action"] or "", "cdata": ""})
    elif provider == "hcaptcha":
        answer["credit"] = False
    if score is not None and provider != "turnstile":
        answer["score"] = score
        if provider == "recaptcha" and conf["action"] is not None:
            answer["action"] = conf["action"]
    return answer


def hook_verified(secret, timestamp, signature, raw):
    """Whether signature is "sha256=" + hex HMAC-SHA256 of TIMESTAMP "." raw
    under secret."""
    if secret is None or timestamp is None or signature is None:
        return False
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256)
    return hmac.compare_digest("sha256=" + mac.hexdigest(), signature)


def parse_fault(body):
    """Validates a /_double/fault body; returns the fault dict to queue."""
    if not isinstance(body, dict) or "kind" not in body:
        raise BadRequest("fault needs a kind")
    kind = body["kind"]
    count = body.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count == 0 or count < -1:
        raise BadRequest("count must be a positive integer or -1")
    fault = {"kind": kind, "count": count}
    path = body.get("path")
    if path is not None:
        if not isinstance(path, str) or not path.startswith("/"):
            raise BadRequest("path must start with /")
        fault["path"] = path
    method = body.get("method")
    if method is not None:
        if method not in ("GET", "POST", "PUT", "DELETE"):
            raise BadRequest("method must be one of: GET, POST, PUT, DELETE")
        fault["method"] = method
    if kind == "status":
        status = body.get("status")
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise BadRequest("status must be an HTTP status")
        fault["status"] = status
        location = body.get("location")
        if location is not None:
            if not isinstance(location, str) or not location.startswith("http"):
                raise BadRequest("location must be an http(s) URL")
            fault["location"] = location
        message = body.get("message")
        if message is not None:
            if not isinstance(message, str) or len(message) > 1000:
                raise BadRequest("message must be a string of at most 1000 characters")
            fault["message"] = message
    elif kind == "delay":
        ms = body.get("ms")
        if not isinstance(ms, int) or ms < 0:
            raise BadRequest("ms must be a non-negative integer")
        fault["ms"] = ms
    elif kind == "429":
        ra = body.get("retry_after")
        if ra is not None and (not isinstance(ra, int) or ra < 0):
            raise BadRequest("retry_after must be a non-negative integer or null")
        fault["retry_after"] = ra
    elif kind != "reset":
        raise BadRequest("unknown fault kind")
    return fault


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, so connection reuse is visible
    server_version = "fmdouble/1"
    sys_version = ""

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's
        # algorithm and delayed ACKs hold every kept-alive answer ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):  # noqa: N802 (stdlib name)
        if self.server.verbose:
            sys.stderr.write("fmdouble: %s\n" % (fmt % args))

    # -- plumbing --------------------------------------------------------------

    def send_json(self, status, obj, headers=()):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        return status

    def send_error_envelope(self, status, message, headers=()):
        return self.send_json(status, {"errors": {"code": status, "message": [message]}},
                              headers)

    def read_body(self):
        """Returns the raw body bytes, or raises BadRequest (411/413)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise BadRequest("Length Required", 411)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            self.close_connection = True
            raise BadRequest("Invalid Content-Length")
        if n < 0 or n > MAX_BODY:
            self.close_connection = True   # the body stays unread
            raise BadRequest("Request body too large", 413)
        return self.rfile.read(n)

    def do_GET(self):  # noqa: N802
        self.dispatch()

    def do_POST(self):  # noqa: N802
        self.dispatch()

    def do_PUT(self):  # noqa: N802
        self.dispatch()

    def do_DELETE(self):  # noqa: N802
        self.dispatch()

    def dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        try:
            raw = self.read_body()
        except BadRequest as e:
            self.send_error_envelope(e.status, str(e))
            return
        if url.path.startswith("/_double/"):
            self.control(url, raw)
        elif self.command == "POST" and url.path.startswith(CAPTCHA_PREFIX):
            self.captcha(url.path[len(CAPTCHA_PREFIX):], raw)
        elif self.command == "POST" and (url.path.startswith(HOOK_PREFIX)
                                         or url.path == SEGMENT_IDENTIFY):
            self.standin(url, raw)
        else:
            self.api(url, raw)

    # -- control API -------------------------------------------------------------

    def control(self, url, raw):
        state = self.server.state
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            self.send_error_envelope(400, "Invalid JSON in request body")
            return
        route = (self.command, url.path)
        try:
            with state.lock:
                if route == ("POST", "/_double/reset"):
                    if body is not None and not isinstance(body, dict):
                        raise BadRequest("reset takes an object")
                    state.reset(body or {})
                    self.send_json(200, {"ok": True})
                elif route == ("GET", "/_double/modes"):
                    self.send_json(200, {"modes": state.modes})
                elif route == ("GET", "/_double/contacts"):
                    self.send_json(200, {"contacts": [state.render_control(cid)
                                                      for cid in sorted(state.contacts)]})
                elif route == ("POST", "/_double/contacts"):
                    cid = self.write_contact(None, body, indexed=True)
                    self.send_json(201, {"contact": state.render_control(cid)})
                elif route == ("GET", "/_double/lists"):
                    self.send_json(200, {"lists": [self.control_list(lid)
                                                   for lid in sorted(state.lists)]})
                elif route == ("POST", "/_double/lists"):
                    if not isinstance(body, dict):
                        raise BadRequest("Name can't be blank")
                    self.send_json(201, {"list": self.control_list(state.add_list(body))})
                elif route == ("GET", "/_double/accounts"):
                    self.send_json(200, {"sales_accounts": [
                        {"id": aid, "name": state.accounts[aid]["name"]}
                        for aid in sorted(state.accounts)]})
                elif route == ("GET", "/_double/notes"):
                    self.send_json(200, {"notes": [state.notes[nid]
                                                   for nid in sorted(state.notes)]})
                elif route == ("POST", "/_double/fields"):
                    state.change_fields(body)
                    self.send_json(200, {"fields": state.fields})
                elif route == ("GET", "/_double/requests"):
                    self.send_json(200, {"requests": list(state.requests)})
                elif route == ("GET", "/_double/rate"):
                    self.send_json(200, state.rate_report())
                elif route == ("POST", "/_double/hooks"):
                    change_hooks(state.hook_conf, body)
                    self.send_json(200, {"ok": True})
                elif route == ("GET", "/_double/hooks"):
                    self.send_json(200, {"hooks": state.hooks})
                elif route == ("POST", "/_double/segment"):
                    change_segment(state.segment_conf, body)
                    self.send_json(200, {"ok": True})
                elif route == ("GET", "/_double/segment"):
                    self.send_json(200, {"messages": state.segment_messages,
                                         "refused": state.segment_refused})
                elif route == ("POST", "/_double/captcha"):
                    change_captcha(state.captcha_conf, body)
                    self.send_json(200, {"ok": True})
                elif route == ("GET", "/_double/captcha"):
                    self.send_json(200, {"requests": state.captcha_requests,
                                         "mode": state.captcha_conf["mode"]})
                elif route == ("POST", "/_double/fault"):
                    if isinstance(body, dict) and body.get("kind") == "clear":
                        state.faults.clear()
                    else:
                        state.faults.append(parse_fault(body))
                    self.send_json(200, {"ok": True, "queued": len(state.faults)})
                else:
                    self.send_error_envelope(404, "No route for %s %s"
                                             % (self.command, url.path))
        except BadRequest as e:
            self.send_error_envelope(e.status, str(e))

    def control_list(self, lid):
        lst = self.server.state.lists[lid]
        return {"id": lid, "name": lst["name"], "contacts": sorted(lst["contacts"])}

    # -- API ---------------------------------------------------------------------

    def api(self, url, raw):
        state = self.server.state
        entry = {"at": round(time.monotonic() - state.started, 4),
                 "method": self.command, "path": url.path, "query": url.query,
                 "headers": {k.lower(): v for k, v in self.headers.items()},
                 "body": None, "raw": raw.decode("utf-8", "replace"),
                 "conn": "%s:%d" % self.client_address[:2], "status": 0,
                 "fault": None}
        try:
            entry["body"] = json.loads(raw) if raw.strip() else None
        except ValueError:
            pass
        with state.lock:
            state.requests.append(entry)
            fault = state.take_fault(self.command, entry["path"])
            generation = state.generation
        if fault is not None and self.apply_fault(fault, generation, entry):
            return
        entry["status"] = self.api_answer(url, raw)

    def apply_fault(self, fault, generation, entry):
        """Applies a fault taken for this request, noted in entry ("fault",
        "status"): True when it answered or dropped the request, False when the
        request goes on (after a delay)."""
        state = self.server.state
        entry["fault"] = fault["kind"]
        if fault["kind"] == "delay":
            time.sleep(fault["ms"] / 1000.0)   # then answer normally
            return self.stale(generation)
        if fault["kind"] == "reset":
            # SO_LINGER 0 makes close() send RST instead of FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return True
        if fault["kind"] == "status":
            headers = [("Location", fault["location"])] if "location" in fault else []
            entry["status"] = self.send_error_envelope(fault["status"],
                                                       fault.get("message", "Injected fault"),
                                                       headers)
            return True
        if fault["kind"] == "429":
            headers = []
            if fault["retry_after"] is not None:
                headers.append(("Retry-After", str(fault["retry_after"])))
            entry["status"] = self.send_error_envelope(429, "API rate limit exceeded",
                                                       headers)
            return True
        return False

    def stale(self, generation):
        """After a sleep: True (and the connection dropped unanswered) when a
        reset came meanwhile."""
        with self.server.state.lock:
            stale = self.server.state.generation != generation
        if stale:
            self.close_connection = True
        return stale

    # -- stand-ins: webhook receivers, Segment's tracking API ----------------------

    def standin(self, url, raw):
        if url.path.startswith(HOOK_PREFIX):
            name = url.path[len(HOOK_PREFIX):]
            if not name or not all(c.isascii() and (c.isalnum() or c in "-_.")
                                   for c in name):
                self.send_error_envelope(404, "No route for %s %s" % (self.command, url.path))
                return
            self.hook(name, raw)
        else:
            self.segment_identify(raw)

    def hook(self, name, raw):
        state = self.server.state
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        entry = {"name": name,
                 "timestamp": self.headers.get("X-Fmgate-Timestamp"),
                 "signature": self.headers.get("X-Fmgate-Signature"),
                 "content_type": self.headers.get("Content-Type"),
                 "user_agent": self.headers.get("User-Agent"),
                 "body": body, "raw": raw.decode("utf-8", "replace"),
                 "verified": False, "status": 0, "fault": None}
        with state.lock:
            entry["verified"] = hook_verified(state.hook_conf["secrets"].get(name),
                                              entry["timestamp"], entry["signature"], raw)
            state.hooks.append(entry)
            fault = state.take_fault(self.command, HOOK_PREFIX + name, standin=True)
            generation = state.generation
            delay = state.hook_conf["delay_ms"].get(name, 0)
            status = state.hook_conf["status"].get(name, 200)
            retry_after = state.hook_conf["retry_after"].get(name)
        if fault is not None and self.apply_fault(fault, generation, entry):
            return
        if delay:
            time.sleep(delay / 1000.0)
            if self.stale(generation):
                return
        headers = [] if retry_after is None else [("Retry-After", str(retry_after))]
        entry["status"] = self.send_json(status, {"ok": 200 <= status < 300}, headers)

    def segment_identify(self, raw):
        state = self.server.state
        with state.lock:
            fault = state.take_fault(self.command, SEGMENT_IDENTIFY, standin=True)
            generation = state.generation
            conf = dict(state.segment_conf)
        if fault is not None and self.apply_fault(fault, generation, {}):
            return
        if conf["delay_ms"]:
            time.sleep(conf["delay_ms"] / 1000.0)
            if self.stale(generation):
                return
        want = None
        if conf["write_key"] is not None:
            want = "Basic " + base64.b64encode((conf["write_key"] + ":").encode()).decode()
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        if want is None or not hmac.compare_digest(
                self.headers.get("Authorization", "").encode(), want.encode()):
            status, error = 401, "wrong or missing write key"
        elif len(raw) > SEGMENT_MAX_BODY:
            status, error = 400, "body over %d bytes" % SEGMENT_MAX_BODY
        elif not isinstance(message, dict):
            status, error = 400, "not a JSON object"
        elif conf["status"] is not None and not 200 <= conf["status"] < 300:
            status, error = conf["status"], "status set"
        else:
            status, error = conf["status"] or 200, None
        with state.lock:
            if state.generation == generation:
                if error is None:
                    state.segment_messages.append(message)
                else:
                    state.segment_refused.append({"status": status, "error": error})
        self.send_json(status, {"success": error is None})

    def captcha(self, provider, raw):
        state = self.server.state
        if provider not in CAPTCHA_PROVIDERS:
            self.send_error_envelope(404, "No route for %s %s%s"
                                     % (self.command, CAPTCHA_PREFIX, provider))
            return
        ctype = self.headers.get("Content-Type", "")
        try:
            form = urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True,
                                         strict_parsing=False)
        except UnicodeDecodeError:
            form = None
        entry = {"provider": provider, "content_type": ctype,
                 "secret_present": bool(form and form.get("secret", [""])[0]),
                 "secret_ok": False,
                 "token": form.get("response", [None])[0] if form else None,
                 "remoteip": form.get("remoteip", [None])[0] if form else None,
                 "answer": None}
        with state.lock:
            conf = dict(state.captcha_conf)
            generation = state.generation
            state.captcha_requests.append(entry)
            entry["secret_ok"] = bool(
                form and conf["secret"] is not None and
                form.get("secret", [""])[0] == conf["secret"])
        if conf["mode"] == "down":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if conf["mode"] == "slow":
            time.sleep(conf["slow_ms"] / 1000.0)
            if self.stale(generation):
                return
        if conf["mode"] == "500":
            self.send_json(500, {"success": False})
            return
        if conf["mode"] == "garbage":
            data = b"<html><body>Service temporarily unavailable</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if form is None or not ctype.lower().startswith("application/x-www-form-urlencoded"):
            self.send_json(400, {"success": False, "error-codes": ["bad-request"]})
            return
        with state.lock:
            answer = captcha_answer(provider, conf, state.captcha_seen[provider], form)
            entry["answer"] = answer
        self.send_json(200, answer)

    def api_answer(self, url, raw):
        """Authenticates, counts, routes; returns the status sent."""
        state = self.server.state
        auth = self.headers.get("Authorization", "")
        with state.lock:
            key = state.key
            if auth != "Token token=" + key:
                return self.send_error_envelope(401, "Incorrect or missing API key")
            rl_headers, over, wait = state.rate_check(key)
            if over:
                headers = list(rl_headers)
                if state.retry_after:
                    headers.append(("Retry-After", str(wait)))
                return self.send_error_envelope(429, "API rate limit exceeded", headers)
        if not url.path.startswith(API_PREFIX + "/"):
            return self.send_error_envelope(404, "No route for %s %s"
                                            % (self.command, url.path), rl_headers)
        path = url.path[len(API_PREFIX):]
        body = None
        if self.command in ("POST", "PUT"):
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return self.send_error_envelope(400, "Invalid JSON in request body",
                                                rl_headers)
        try:
            with state.lock:
                status, obj = self.route(path, url.query, body)
        except BadRequest as e:
            return self.send_error_envelope(e.status, str(e), rl_headers)
        return self.send_json(status, obj, rl_headers)

    def route(self, path, query, body):
        """Runs one API call under the state lock; returns (status, object)."""
        state = self.server.state
        cmd = self.command
        parts = path.strip("/").split("/")
        include = includes(query)
        if cmd == "POST" and path == "/contacts/upsert":
            return self.upsert(body, include)
        if cmd == "POST" and path == "/contacts":
            cid = self.write_contact(None, body.get("contact"))
            return 201, {"contact": state.render_api(cid, include=include)}
        if len(parts) == 2 and parts[0] == "contacts" and parts[1].isdigit():
            cid = int(parts[1])
            if cid not in state.contacts:
                raise BadRequest("Record not found", 404)
            if cmd == "GET":
                return 200, {"contact": state.render_api(cid, include=include)}
            if cmd == "PUT":
                self.write_contact(cid, body.get("contact"))
                return 200, {"contact": state.render_api(cid, include=include)}
            if cmd == "DELETE":
                del state.contacts[cid]
                for lst in state.lists.values():
                    lst["contacts"].discard(cid)
                return 200, {"ok": True}
        if cmd == "GET" and path == "/lists":
            return 200, state.list_page(query)
        if cmd == "POST" and path == "/lists":
            lid = state.add_list(body)
            return 201, {"list": {"id": lid, "name": state.lists[lid]["name"]}}
        if (cmd == "PUT" and len(parts) == 3 and parts[0] == "lists"
                and parts[1].isdigit() and parts[2] == "add_contacts"):
            state.add_to_list(int(parts[1]), body)
            return 200, {"message": "Contacts added to list"}
        if cmd == "POST" and path == "/sales_accounts/upsert":
            created, aid = state.upsert_account(body)
            account = {"id": aid, "name": state.accounts[aid]["name"]}
            return (state.modes["create_status"] if created else 200,
                    {"sales_account": account})
        if cmd == "POST" and path == "/notes":
            return 201, {"note": state.add_note(body)}
        if cmd == "GET" and path == "/settings/contacts/fields":
            return 200, {"fields": state.fields}
        if cmd == "GET" and path == "/lookup":
            self.lookup_forbidden()
            return self.lookup(query)
        if cmd == "POST" and path == "/filtered_search/contact":
            self.lookup_forbidden()
            return self.filtered_search(body)
        raise BadRequest("No route for %s %s" % (cmd, API_PREFIX + path), 404)

    def write_contact(self, cid, contact, indexed=False, ident=None):
        """Validates a contact object (its fields, then its links) and creates
        (cid None) or updates contact cid; the links given replace the held
        ones. ident: the upsert's (key, value), set on a created contact.
        Returns the contact's id."""
        state = self.server.state
        fields, linked, links = split_links(contact)
        builtins, custom = validate_contact(fields, state.fields, state.by_id)
        if linked:
            links = validate_links(links, state.accounts)
        if cid is None and ident is not None:
            # a created contact carries its identifier even when the contact
            # object does not repeat it
            builtins.setdefault(*ident)
        cid = state.save(cid, builtins, custom, indexed)
        if linked:
            state.contacts[cid]["links"] = links
        return cid

    def upsert(self, body, include):
        state = self.server.state
        ident = body.get("unique_identifier")
        if (not isinstance(ident, dict) or len(ident) != 1
                or next(iter(ident)) not in UNIQUE_KEYS
                or not isinstance(next(iter(ident.values())), str)
                or not next(iter(ident.values()))):
            raise BadRequest("unique_identifier must hold exactly one of "
                             "emails, external_id, mobile_number")
        (key, value), = ident.items()
        if key == "external_id" and state.modes["external_id_key"] == "refused":
            raise BadRequest(state.message(MSG_BAD_IDENTIFIER))
        found = state.find(key, value)
        cid = self.write_contact(found, body.get("contact"), ident=(key, value))
        status = state.modes["create_status"] if found is None else 200
        return status, {"contact": state.render_api(cid, include=include)}

    def lookup_forbidden(self):
        """lookup_403_every N: every Nth search since the reset is a 403."""
        state = self.server.state
        every = state.modes["lookup_403_every"]
        if every <= 0:
            return
        state.lookups += 1
        if state.lookups % every == 0:
            raise BadRequest(state.message(MSG_FORBIDDEN), 403)

    def lookup(self, query):
        state = self.server.state
        params = urllib.parse.parse_qs(query, keep_blank_values=True)
        q = params.get("q", [""])[0]
        field = params.get("f", ["email"])[0]
        entities = ",".join(params.get("entities", ["contact"])).split(",")
        if not q:
            raise BadRequest("Query q is required")
        keys = {"email": "emails", "external_id": "external_id",
                "mobile_number": "mobile_number"}
        if field not in keys:
            raise BadRequest("Unsupported lookup field: %s" % field)
        found = []
        if "contact" in entities:
            cid = state.find(keys[field], q)
            if cid is not None and state.indexed(cid):
                found.append(state.render_api(cid, row=True))
        return 200, {"contacts": {"contacts": found}}

    def filtered_search(self, body):
        state = self.server.state
        rules = body.get("filter_rule")
        if not isinstance(rules, list) or not rules:
            raise BadRequest("filter_rule must be a non-empty list")
        ids = set(state.contacts)
        for rule in rules:
            if not isinstance(rule, dict):
                raise BadRequest("filter_rule entries must be objects")
            attr, op, val = rule.get("attribute"), rule.get("operator"), rule.get("value")
            if attr != "contact_email.email" or op != "is_in":
                raise BadRequest("Unsupported filter: %s %s" % (attr, op))
            wanted = val if isinstance(val, list) else [val]
            wanted = {norm_email(v) for v in wanted}
            ids = {cid for cid in ids
                   if norm_email(state.contacts[cid]["fields"].get("emails")) in wanted}
        contacts = [state.render_api(cid, row=True) for cid in sorted(ids)
                    if state.indexed(cid)]
        return 200, {"contacts": contacts, "meta": {"total": len(contacts)}}


class Server(ThreadingHTTPServer):
    daemon_threads = True      # idle keep-alive connections must not block exit
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that gave up (timeout past a delay fault) is normal here.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description="Freshmarketer API test double")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--hour-limit", type=int, default=0)
    ap.add_argument("--minute-limit", type=int, default=0)
    ap.add_argument("--hour-window", type=int, default=3600,
                    help="seconds the 'hour' window lasts (tests compress time)")
    ap.add_argument("--minute-window", type=int, default=60,
                    help="seconds the 'minute' window lasts")
    ap.add_argument("--retry-after", action="store_true",
                    help="send Retry-After on rate-limit 429s")
    ap.add_argument("--modes", default="{}",
                    help="JSON object: the modes a reset returns to (default: none)")
    ap.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = ap.parse_args()
    try:
        modes = json.loads(args.modes)
        if not isinstance(modes, dict):
            raise ValueError("modes must be an object")
        state = State(args.key, args.hour_limit, args.minute_limit, args.retry_after,
                      modes, args.hour_window, args.minute_window)
    except (ValueError, BadRequest) as e:
        ap.error("--modes: %s" % e)

    server = Server(("127.0.0.1", args.port), Handler)
    server.state = state
    server.verbose = args.verbose

    def stop(_signum, _frame):
        # shutdown() waits for serve_forever, which runs in this thread
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(tmp, args.port_file)

    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
