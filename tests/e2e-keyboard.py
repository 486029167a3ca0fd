#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The keyboard-only walk: on every page of the app, pressing Tab over and
# over reaches every control on screen, and every control has a name a
# screen reader can say. Keys are real (XTest); the accessibility tree is
# only read. A control Tab cannot reach, or one without a name, is listed,
# and the test fails on it.
#
#   e2e-keyboard.py APP CLI [--lang ar]
#
# TAP output.

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfl_e2e as E  # noqa: E402

PASSPHRASE = "correct horse battery staple"
RECORD = ('{"type": "tracing_request", "enquirer": {"given_name": "Amina", "family_name": "Yusuf"},'
          ' "sought": [{"given_name": "Ibrahim", "family_name": "Yusuf", "relationship": "son"}],'
          ' "consent": {"tracing": true, "share_within_movement": true}}')
# Names that say nothing: the widget's class, or a mnemonic's underscore.
MEANINGLESS = ("Gtk", "Adw", "_")

p = argparse.ArgumentParser()
p.add_argument("app")
p.add_argument("cli")
p.add_argument("--lang", default="en")
args = p.parse_args()
tap = E.Tap()


def label(n):
    return "%s %r" % (E.role_of(n), E.name_of(n))


def unnamed(n):
    name = E.name_of(n).strip()
    return not name or any(name.startswith(m) for m in MEANINGLESS[:2]) or "_" in name


def gtk_text(text):
    """One of GTK's own strings, in the run's language."""
    import gettext
    return gettext.translation("gtk40", "/usr/share/locale", [args.lang], fallback=True).gettext(text)


def window_controls():
    """GTK's Minimize, Maximize and Close buttons, in the run's language.
    The window manager's keys do what they do (Alt+F4 closes); GTK keeps
    them out of the Tab order."""
    return {gtk_text(n) for n in ("Minimize", "Maximize", "Close")}


def walk_page(app, what):
    """Tab round the window that has the focus; every control on screen
    must be reached and named."""
    frame = app.active_frame()
    controls = window_controls()
    # On screen: on the page of each stack that the window shows (GTK 4.8
    # keeps the controls of the other pages in the tree, marked visible),
    # scrolled into view or not, as Tab scrolls to a control.
    stops = [n for n in E.tab_stops(frame, shown=True)
             if not (E.role_of(n) == "push button" and E.name_of(n) in controls)]
    # Where the focus may go: whatever takes it, on any page. Reading the
    # focus from these only keeps a round quick; reading the whole tree at
    # each key took most of the test's time.
    takers = [n for n in E.walk(frame) if E.has_state(n, E.pyatspi.STATE_FOCUSABLE)
              and E.role_of(n) not in ("frame", "window", "dialog")]
    texts = [n for n in stops if E.role_of(n) in ("text", "entry", "password text")]
    # Rows of one list are reached with the arrow keys once Tab is in it.
    list_of = {n.path: E.ancestors_key(n) for n in stops if E.role_of(n) == "list item"}
    reached = set()
    elsewhere = {}

    def missing():
        lists = {list_of[p] for p in reached if p in list_of}
        return [n for n in stops if n.path not in reached and
                not (n.path in list_of and list_of[n.path] in lists)]

    prev = E.focus_among(takers)
    if prev is not None:
        reached.add(prev.path)
    # Round the window once, and some more; once every control is reached,
    # more Tabs would tell nothing.
    for _ in range(len(stops) + 12):
        if not missing():
            break
        E.key("Tab")
        reported = f = E.focus_among(takers)
        if os.environ.get("E2E_DEBUG"):
            tap.note("Tab: %s" % (label(f) if f is not None else None))
        # GTK 4.8 may leave a list's row marked focused when the focus
        # moves into a text field: a focus that did not move is one too.
        if f is None or f == prev:
            # A text field: GTK 4.8 does not report its focus. A key typed
            # there shows which one it is, and is taken back.
            before = {n.path: E.text_of(n) for n in texts}
            E.type_text("x")
            changed = [n for n in texts if E.text_of(n) != before[n.path]]
            E.key("BackSpace")
            if os.environ.get("E2E_DEBUG"):
                tap.note("unreported focus; changed: %s" % [label(n) for n in changed])
            f = changed[0] if len(changed) == 1 else None
        prev = reported
        if f is None:
            continue
        reached.add(f.path)
        if not any(f.path == n.path for n in stops):
            elsewhere[f.path] = label(f)
    if elsewhere and os.environ.get("E2E_DEBUG"):
        tap.note("%s: Tab also stops on %s" % (what, ", ".join(elsewhere.values())))
    lost = missing()
    nameless = [n for n in stops if E.role_of(n) and unnamed(n)]
    tap.ok(not lost, "%s: Tab reaches all %d controls%s" % (
        what, len(stops), "" if not lost else "; not: " + ", ".join(label(n) for n in lost)))
    tap.ok(not nameless, "%s: every control has a name%s" % (
        what, "" if not nameless else "; nameless: " + ", ".join(label(n) for n in nameless)))


def main():
    E.skip_without_tools("Xvfb", "xdotool", "setxkbmap", "dbus-daemon", "openbox")
    desk = E.Desktop(tap)
    db = os.path.join(desk.home, "data", "reunite", "reunite.db")
    passfile = os.path.join(desk.home, "passphrase")
    with open(passfile, "w") as f:
        f.write(PASSPHRASE)
    cli_env = dict(os.environ, REUNITE_PASSPHRASE_FILE=passfile)
    os.makedirs(os.path.dirname(db))
    for argv, stdin in ((["init"], None), (["add"], RECORD)):
        r = subprocess.run([args.cli, "--db", db, *argv], input=stdin, env=cli_env, capture_output=True,
                           text=True, timeout=120)
        tap.ok(r.returncode == 0, "reunite-cli %s %s" % (argv[0], r.stderr.strip()))
    env = {"LANGUAGE": args.lang}
    if args.lang == "ar":
        env["LANG"] = "ar_EG.UTF-8"
    app = E.App(tap, [args.app], env).start()
    window = app.wait("the main window", lambda: next((f for f in app.frames() if E.on_screen(f)), None))
    app.wait("the unlock page", lambda: E.one(window, "text"))
    walk_page(app, "the unlock page")

    # Unlock is a control once there is a passphrase to try.
    for _ in range(10):
        if app.focused() is None:
            break
        E.key("Tab")
    E.type_text(PASSPHRASE)
    walk_page(app, "the unlock page, a passphrase typed")
    # Tab into a field selects its text, and the walk's typing replaced it.
    for _ in range(10):
        if app.focused() is None:
            break
        E.key("Tab")
    E.key("ctrl+a")
    E.type_text(PASSPHRASE)
    E.key("Return")
    app.wait("the case list", lambda: E.one(window, "list item", pred=lambda n: "Yusuf" in E.name_of(n)))
    walk_page(app, "the case list")

    row = E.one(window, "list item", pred=lambda n: "Yusuf" in E.name_of(n))
    tap.ok("row.activate" in E.actions_of(row), "a case row offers a screen reader its action (%s)"
           % E.actions_of(row))
    # The walk leaves the focus where it ended, and its typing searched
    # again: Alt+1 is the cases page, Ctrl+F its search, and the row is
    # found anew, a few Tabs on.
    E.key("alt+1")
    E.key("ctrl+f")
    app.tab_to("the case row", lambda f: E.role_of(f) == "list item" and "Yusuf" in E.name_of(f))
    E.key("space")
    app.wait("the case", lambda: len(E.find_all(window, "combo box")) >= 3)
    tap.ok(True, "Space on a case row opens the case")
    walk_page(app, "a case")

    # Each section is walked from its row in the sidebar: from there, Tab
    # must lead into the section, not on to the next row (and section).
    sidebar = gtk_text("Sidebar")
    for n, what in ((2, "the messages"), (3, "the matches"), (4, "the sync page"), (5, "the dashboard")):
        E.key("alt+%d" % n)
        time.sleep(0.5)
        app.tab_to("the sidebar's row of %s" % what, lambda f: E.role_of(f) == "list item"
                   and E.has_state(f, E.pyatspi.STATE_SELECTED) and E.name_of(f.parent) == sidebar)
        walk_page(app, what)

    E.key("ctrl+n")
    app.wait("the new case form", lambda: len(app.frames()) > 1 and len(E.tab_stops(app.active_frame())) > 20)
    walk_page(app, "the new case form")


tap.run(main)
