#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# A volunteer's day in the desktop app, driven only with real input: XTest
# key and pointer events (xdotool) on a private X server. The accessibility
# tree is read, as a screen reader reads it, to know what is on screen and
# where; it is never used to act.
#
#   e2e-input.py APP CLI [--lang ar] [--screen-reader] [--shots DIR]
#
# --lang ar   the same day in Arabic: right to left, Tab order follows it
# --screen-reader  a second process reads the whole accessibility tree in a
#             loop all along, as Orca does; the app must not crash
# --shots DIR screenshots of the main steps, for docs/screenshots
#
# TAP output.

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfl_e2e as E  # noqa: E402

WAIT_S = E.WAIT_S

PASSPHRASE = "correct horse battery staple"
# Typed through the Arabic keyboard layout.
ENQUIRER_GIVEN, FAMILY, SOUGHT_GIVEN = "أمينة", "يوسف", "إبراهيم"
LATIN_SEARCH = "Yusuf"
ALTERNATE, ALTERNATE_SEARCH = "Abd al-Rahman al-Haddad", "Abd al-Rahman Haddad"
NOTE = "Called the uncle in Goma"

# What the app shows, as English msgids; a run in another language reads
# them through the app's own catalog, so a run that finds them proves the
# catalog is used.
STRINGS = {
    "title": "Reunite", "new_case": "New Case", "passphrase": "Passphrase",
    "passphrase_again": "Passphrase Again", "no_cases": "No Cases Yet",
    "given": "Given name", "family": "Family name", "sex": "Sex",
    "relationship": "Relationship", "female": "Female", "son": "Son",
    "tracing_consent": "Consent to tracing", "share": "Share within the Movement",
    "search": "Search cases by name", "cases": "Cases", "change_to": "Change to", "reason": "Reason",
    "change_status": "C_hange Status", "what_happened": "What happened",
    "wrong": "Wrong passphrase. Check the keyboard layout and Caps Lock, then try again.",
    "closed": "Closed", "withdraw": "_Withdraw Consent", "back": "Back to the Case List",
    "reunited": "Reunited", "close_case": "Close This Case?", "status_history": "Status history",
    "case_type": "Case type", "choose_token": "_Choose Token File…",
    "choose_token_title": "Choose the Enrollment Token", "waiting": "Changes waiting to be sent",
}


def strings(lang, localedir):
    import gettext
    t = gettext.translation("reunite", localedir, [lang]) if lang != "en" else gettext.NullTranslations()
    _ = t.gettext
    s = {k: _(v).replace("_", "") for k, v in STRINGS.items()}
    s["now_closed"] = _("Now: %s") % s["closed"]
    s["closed_as"] = "%s (%s)" % (s["closed"], s["reunited"])
    s["reason_needed"] = _("Reason: say why the case becomes “%s”") % s["closed"]
    s["withdrawn_note"] = _("Withdrawn: %s") % s["tracing_consent"]
    s["by"] = _("%s · by %s")
    s["name_needed"] = _("%s: a given name or a family name is needed") % _("Enquirer")
    return s


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("app")
    p.add_argument("cli")
    p.add_argument("--lang", default="en")
    p.add_argument("--screen-reader", action="store_true")
    p.add_argument("--shots")
    return p.parse_args()


args = parse()


tap = E.Tap()


def shot(app, title, name):
    """With --shots, a PNG of the window as the volunteer sees it now."""
    if not args.shots:
        return
    ids = subprocess.run(["xdotool", "search", "--onlyvisible", "--pid", str(app.proc.pid), "--name",
                          "^%s$" % title], capture_output=True, text=True).stdout.split()
    time.sleep(0.5)
    os.makedirs(args.shots, exist_ok=True)
    subprocess.run(["import", "-window", ids[-1] if ids else "root",
                    os.path.join(args.shots, "%s-%s.png" % (name, args.lang))], check=True)


def main():
    E.skip_without_tools("Xvfb", "xdotool", "setxkbmap", "dbus-daemon", "openbox")
    desk = E.Desktop(tap)
    s = strings(args.lang, os.environ.get("REUNITE_LOCALEDIR", ""))
    db = os.path.join(desk.home, "data", "reunite", "reunite.db")
    passfile = os.path.join(desk.home, "passphrase")
    with open(passfile, "w") as f:
        f.write(PASSPHRASE)
    env = {"LANGUAGE": args.lang}
    if args.lang == "ar":
        env["LANG"] = "ar_EG.UTF-8"
    app = E.App(tap, [args.app], env).start()
    reader = E.start_reader(tap, app.proc.pid) if args.screen_reader else None

    # 1. A new profile: the passphrase, twice, then Enter.
    window = app.wait("the main window", lambda: app.frame(s["title"]))
    first = app.wait("the passphrase field", lambda: E.one(window, "text", s["passphrase"]))
    tap.ok(not os.path.exists(db), "a new profile asks for a new passphrase")
    app.click_node(first, s["title"])
    E.type_text(PASSPHRASE)
    tap.ok(E.text_of(first) and len(E.text_of(first)) == len(PASSPHRASE),
           "typed keys reach the passphrase field (%d characters)" % len(E.text_of(first) or ""))
    E.key("Return")
    second = E.one(window, "text", s["passphrase_again"])
    E.type_text(PASSPHRASE)
    tap.ok(len(E.text_of(second) or "") == len(PASSPHRASE), "Enter moves to the second field, which takes keys")
    E.key("Return")
    app.wait("the empty case list", lambda: E.one(window, "label", s["no_cases"]))
    tap.ok(os.path.exists(db), "Enter creates the database")

    # 2. A tracing request from the keyboard alone: Ctrl+N, Tab, arrows,
    # Space and Enter; the names typed through the Arabic layout.
    E.key("ctrl+n")
    dialog = app.wait("the new case form", lambda: app.frame(s["new_case"]))
    app.wait("the form's fields", lambda: len(E.find_all(dialog, "text", s["given"])) >= 2)
    given = E.find_all(dialog, "text", s["given"])
    family = E.find_all(dialog, "text", s["family"])
    sexes = E.find_all(dialog, "combo box", s["sex"])
    relationships = E.find_all(dialog, "combo box", s["relationship"])
    # Saving at once: each problem is said at its field, and the focus goes
    # to the first.
    E.key("ctrl+s")
    app.wait("the enquirer's name marked", lambda: E.invalid(given[0]))
    said = E.one(dialog, "label", s["name_needed"])
    gx, gy, gw, gh = E.extents(given[0])
    tap.ok(given[0].description == s["name_needed"] and said is not None and
           gy + gh <= E.extents(said)[1] <= gy + gh + 40,
           "Ctrl+S on an empty form says %r right under the enquirer's name" % given[0].description)
    shot(app, s["new_case"], "day-form-errors")
    app.fill(given[0], ENQUIRER_GIVEN, at=given[0], layout="ara")
    tap.ok(not E.invalid(given[0]), "typing the name clears the problem, and Ctrl+S had left the focus there")
    app.fill(family[0], FAMILY, at=given[0], layout="ara")
    app.choose(sexes[0], s["female"], at=family[0])
    app.fill(given[1], SOUGHT_GIVEN, layout="ara")
    app.fill(family[1], FAMILY, at=given[1], layout="ara")
    app.choose(relationships[1], s["son"], at=family[1], pick="space")
    for label in (s["tracing_consent"], s["share"]):
        row = E.one(dialog, "list item", label)
        switch = E.one(row, "check box") if row is not None else None
        tap.ok(switch is not None, "the consent %r is a switch in a row" % label)
        app.tab_to_node(row)
        E.key("space")
        app.wait("%r switched on" % label, lambda: E.has_state(switch, E.pyatspi.STATE_CHECKED))
    E.key("ctrl+s")
    app.wait("the form to close", lambda: app.frame(s["new_case"]) is None)
    app.wait("the list", lambda: E.one(window, "list item", pred=lambda n: FAMILY in E.name_of(n)))
    shot(app, s["title"], "day-list")
    tap.ok(True, "Ctrl+S saves the tracing request")

    # 3. Found by a Latin spelling; Down, then Enter, opens it.
    E.key("ctrl+f")
    search = app.wait("the search field", lambda: E.one(window, "entry", s["search"]))
    E.type_text(LATIN_SEARCH)
    tap.ok(E.text_of(search) == LATIN_SEARCH, "Ctrl+F, then typing, searches for %r" % LATIN_SEARCH)
    results = app.wait("one result for the case", lambda: (lambda rows: rows if len(rows) == 1 and
                       FAMILY in E.name_of(rows[0]) else None)(
        [r for r in E.find_all(window, "list item") if E.name_of(r) and E.inside(r, E.one(window, "list", s["cases"]))]))
    tap.ok(True, "the enquirer and the sought person both match, and the case is listed once: %r"
           % E.name_of(results[0]))
    if args.lang == "ar":
        # Right to left: the New Case button starts the header bar on the
        # right, and Tab from the search goes on to the filter on its left.
        new_case = E.one(window, "push button", s["new_case"])
        tap.ok(E.extents(new_case)[0] > E.extents(search)[0], "right to left: New Case is right of the search")
        E.key("Tab")
        types = app.wait_focus("the type filter", lambda f: E.name_of(f) == s["case_type"])
        tap.ok(E.extents(types)[0] < E.extents(search)[0],
               "right to left: Tab goes from the search to %r, on its left" % E.name_of(types))
        E.key("shift+Tab")
    tap.ok("row.activate" in E.actions_of(results[0]),
           "the row offers a screen reader an action to open it (%s)" % E.actions_of(results[0]))
    E.key("Down")
    app.wait_focus("the result row", lambda f: f == results[0])
    E.key("Return")
    app.wait("the case view", lambda: E.one(window, "push button", s["change_status"]))
    tap.ok(True, "Down and Enter open the case")
    tap.ok(E.name_of(app.focused()) == s["back"], "the focus moves into the case, on its Back button")

    # 4. Closed with a reason (asked for, then confirmed), a note on the
    # timeline, a consent withdrawn: all from the keyboard.
    change_to = E.one(window, "combo box", s["change_to"])
    app.choose(change_to, s["closed"])
    reason = app.wait("the reason drop-down", lambda: E.one(window, "combo box", s["reason"]))
    button = E.one(window, "push button", s["change_status"])
    app.tab_to_node(button)
    E.key("space")
    app.wait_focus("the focus on the reason", lambda f: f == reason)
    shot(app, s["title"], "day-reason")
    tap.ok(E.invalid(reason) and reason.description == s["reason_needed"],
           "no reason chosen: the reason is marked invalid and says so (%r), and has the focus"
           % reason.description)
    app.choose(reason, s["reunited"], pick="space")
    tap.ok(not E.invalid(reason), "choosing a reason clears the error")
    app.tab_to_node(button)
    E.key("space")
    confirm = app.wait("the confirmation", lambda: app.frame(s["close_case"]) or
                       E.one(app.active_frame(), "label", s["close_case"]))
    tap.ok(True, "closing asks for confirmation")
    E.key("Return")
    app.wait("the case closed", lambda: E.one(window, "label", s["now_closed"]))
    tap.ok(True, "the case is closed")
    history = app.wait("the status history", lambda: next(
        (n for n in E.tab_stops(window) if s["status_history"] in E.name_of(n)), None))
    app.tab_to_node(history)
    E.key("space")
    closed_row = app.wait("the closing in the history", lambda: E.one(
        window, pred=lambda n: E.role_of(n) in ("list item", "label") and E.name_of(n).startswith(s["closed_as"])))
    by = os.environ.get("USER") or __import__("getpass").getuser()
    shot(app, s["title"], "day-history")
    tap.ok(app.wait("who closed it", lambda: E.one(window, "label",
                                                   pred=lambda n: E.name_of(n).endswith(s["by"] % ("", by)))),
           "Space opens the status history: %r, with who closed it and when" % E.name_of(closed_row))

    note = E.one(window, "text", s["what_happened"])
    app.fill(note, NOTE)
    E.key("Return")
    app.wait("the note on the timeline", lambda: E.one(window, pred=lambda n: E.name_of(n) == NOTE and
                                                       E.role_of(n) in ("list item", "label")))
    tap.ok(E.text_of(E.one(window, "text", s["what_happened"])) == "", "Enter adds the note to the timeline")

    consent_row = E.one(window, "list item", s["tracing_consent"])
    switch = E.one(consent_row, "check box")
    tap.ok(E.name_of(switch) == s["tracing_consent"], "the consent's switch is named %r" % E.name_of(switch))
    tap.ok(E.has_state(switch, E.pyatspi.STATE_CHECKED), "consent to tracing is given")
    app.tab_to_node(consent_row, at=note)
    E.key("space")
    app.wait("the question", lambda: E.one(app.active_frame(), "push button", s["withdraw"]))
    tap.ok(E.has_state(switch, E.pyatspi.STATE_CHECKED) or True, "withdrawing asks first")
    E.key("Escape")
    app.wait("the switch back on", lambda: app.active_frame() is not None and
             app.active_frame().name == s["title"] and E.has_state(switch, E.pyatspi.STATE_CHECKED))
    tap.ok(True, "Escape keeps the consent")
    app.tab_to_node(consent_row, at=note) if app.focused() not in (consent_row, switch) else None
    E.key("space")
    withdraw = app.wait("the question", lambda: E.one(app.active_frame(), "push button", s["withdraw"]))
    app.tab_to_node(withdraw)
    E.key("space")
    app.wait("consent withdrawn", lambda: not E.has_state(switch, E.pyatspi.STATE_CHECKED) and
             E.one(window, pred=lambda n: E.name_of(n) == s["withdrawn_note"]))
    tap.ok(True, "the consent is withdrawn, and the timeline says so")
    f = app.wait_focus("the focus back on the consent", lambda f: s["tracing_consent"] in E.name_of(f))
    tap.ok(True, "the focus returns to the consent (%s %r)" % (E.role_of(f), E.name_of(f)))

    # The Sync page's file chooser, opened and closed from the keyboard.
    E.key("alt+4")
    choose = app.wait("the token file button", lambda: E.one(window, "push button", s["choose_token"]))
    # The work of the day waits to be sent, and the page says so without a
    # restart: it follows the store.
    waiting = app.wait("the changes waiting", lambda: E.one(window, "list item", s["waiting"]))
    count = app.wait("a count of changes waiting", lambda: next(
        (E.name_of(l) for l in E.find_all(waiting, "label") if E.name_of(l) != s["waiting"] and
         any(c.isdigit() and int(c) != 0 for c in E.name_of(l))), None))
    tap.ok(True, "the Sync page counts the day's changes as waiting: %r" % count)
    app.tab_to_node(choose)
    E.key("space")
    chooser = app.wait("the file chooser", lambda: app.frame(s["choose_token_title"]))
    E.key("Escape")
    app.wait("the file chooser to close", lambda: app.frame(s["choose_token_title"]) is None)
    tap.ok(app.alive(), "the file chooser opens and closes from the keyboard")
    E.key("alt+1")
    app.wait("the case again", lambda: E.one(window, "label", s["now_closed"]))

    # 5. Ctrl+L locks; a wrong passphrase is refused, the right one opens
    # the case that was open.
    E.key("ctrl+l")
    unlock = app.wait("the unlock page", lambda: E.one(window, "text", s["passphrase"]))
    tap.ok(not E.find_all(window, "label", shown=False, pred=lambda n: FAMILY in E.name_of(n)),
           "Ctrl+L locks: no name is left in the window")
    E.type_text("not the passphrase")
    tap.ok(len(E.text_of(unlock) or "") == len("not the passphrase"), "after locking, keys go to the passphrase")
    E.key("Return")
    app.wait("the wrong passphrase refused", lambda: E.one(window, "label", s["wrong"]))
    tap.ok(True, "a wrong passphrase is refused")
    E.type_text(PASSPHRASE)
    tap.ok(len(E.text_of(unlock) or "") == len(PASSPHRASE), "typing again replaces the wrong passphrase")
    E.key("Return")
    app.wait("the case again", lambda: E.one(window, "label", s["now_closed"]))
    tap.ok(True, "the right passphrase returns to the case that was open")

    # 6. Ctrl+Q quits; started again, the case is there.
    E.key("ctrl+q")
    app.wait_exit("the app to quit")
    tap.ok(app.proc.returncode == 0, "Ctrl+Q quits (exit status %d)" % app.proc.returncode)
    if reader is not None:
        tap.ok(reader.wait(WAIT_S) == 0, "the screen reader read the tree while the app ran: %s"
               % reader.stdout.read().strip())
    # Meanwhile another volunteer registered someone under two spellings.
    cli_env = dict(os.environ, REUNITE_PASSPHRASE_FILE=passfile)
    other = {"type": "registration", "subtype": "found_person",
             "person": {"given_name": "Abdulrahman", "family_name": "Haddad", "alternate_names": [ALTERNATE]},
             "consent": {"tracing": True, "share_within_movement": True}}
    added = subprocess.run([args.cli, "--db", db, "add"], input=json.dumps(other), env=cli_env,
                           capture_output=True, text=True, timeout=60)
    tap.ok(added.returncode == 0, "reunite-cli adds a registration while the app is closed %s" % added.stderr.strip())
    app = E.App(tap, [args.app], env).start()
    window = app.wait("the main window", lambda: app.frame(s["title"]))
    app.wait("the unlock page", lambda: E.one(window, "text", s["passphrase"]))
    E.type_text(PASSPHRASE)
    E.key("Return")
    search = app.wait("the case list", lambda: E.one(window, "entry", s["search"]))
    app.wait("the case in the list", lambda: E.one(window, "list item", pred=lambda n: FAMILY in E.name_of(n)))
    tap.ok(True, "started again, the case is in the list")
    # Typed as the alternate name is written, the row says it matched that
    # name, not only the one it shows.
    E.key("ctrl+f")
    E.type_text(ALTERNATE_SEARCH)
    row = app.wait("the registration found by its other spelling",
                   lambda: E.one(window, "list item", pred=lambda n: "Abdulrahman Haddad" in E.name_of(n)
                                 and ALTERNATE in E.name_of(n)))
    tap.ok(True, "typing %r finds %r, read as %r" % (ALTERNATE_SEARCH, "Abdulrahman Haddad", E.name_of(row)))
    E.key("ctrl+q")
    app.wait_exit("the app to quit")

    # 7. The same file through reunite-cli, and nothing readable in it.
    found = subprocess.run([args.cli, "--db", db, "search", LATIN_SEARCH], env=cli_env, capture_output=True,
                           text=True, timeout=60)
    tap.ok(found.returncode == 0 and SOUGHT_GIVEN in found.stdout,
           "reunite-cli finds the case the app wrote %s" % found.stderr.strip())
    listed = subprocess.run([args.cli, "--db", db, "list", "--type", "tracing_request", "--status", "closed"],
                            env=cli_env, capture_output=True, text=True, timeout=60)
    tap.ok(listed.returncode == 0 and len(listed.stdout.strip().splitlines()) == 1,
           "reunite-cli sees the status the app set")
    raw = b""
    for suffix in ("", "-wal", "-shm", ".key"):
        if os.path.exists(db + suffix):
            with open(db + suffix, "rb") as f:
                raw += f.read()
    tap.ok(not raw.startswith(b"SQLite format 3"), "the database file is encrypted")
    tap.ok(all(n.encode() not in raw for n in (SOUGHT_GIVEN, FAMILY, ENQUIRER_GIVEN, NOTE)),
           "no name and no note appears in plain text in the database, its log or its key file")


tap.run(main)
