#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The Matches page as a caseworker uses it, with real input only: XTest
# keys and clicks (xdotool) on a private X server; the accessibility tree
# is read to know what is on screen, never used to act. The cases were
# registered beforehand with reunite-cli, as another volunteer would.
#
#   e2e-matches.py APP CLI [--lang ar] [--screen-reader] [--shots DIR]
#
# --screen-reader  another process reads the whole accessibility tree, as a
#                  screen reader does, while the page is used.
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

PASSPHRASE = "correct horse battery staple"
REQUEST = "11111111-1111-4111-8111-111111111111"
CHILD = "22222222-2222-4222-8222-222222222222"
ADULT = "99999999-9999-4999-8999-999999999999"
CONSENT = {"tracing": True, "share_within_movement": True}
RECORDS = [
    {"id": REQUEST, "type": "tracing_request", "circumstances": "conflict",
     "enquirer": {"given_name": "أمينة", "family_name": "يوسف", "sex": "female"},
     "sought": [{"given_name": "إبراهيم", "family_name": "يوسف", "sex": "male", "date_of_birth": "2009",
                 "relationship": "son", "last_seen_place": "Goma", "last_seen_date": "2023-04"}],
     "consent": CONSENT},
    {"id": CHILD, "type": "registration", "subtype": "unaccompanied_child",
     "person": {"given_name": "Ibrahim", "family_name": "Yusuf", "sex": "male", "approximate_age": 15},
     "registered_place": "Goma", "registered_date": "2024-02", "consent": CONSENT},
    {"id": ADULT, "type": "registration", "subtype": "found_person",
     "person": {"given_name": "Ibrahim", "family_name": "Youssef", "sex": "male", "date_of_birth": "2009"},
     "registered_place": "Bukavu", "registered_date": "2024-06", "consent": CONSENT},
]
REASON = "Same scar on the left hand"

STRINGS = {
    "title": "Reunite", "passphrase": "Passphrase", "list": "Proposed matches, best first",
    "confirm": "_Confirm", "reject": "_Reject", "share": "_Tell the Family", "reason": "Reason for the decision",
    "confirmed": "Confirmed", "and": "%s and %s", "why": "Why It Is Proposed",
    "rejected": "Rejected", "search": "Search cases by name", "cases": "Cases",
    "not_shared_child": "not shared: case %s does not record the caregiver's or a protection officer's "
                        "decision to tell the family where the child is",
}


def strings(lang, localedir):
    import gettext
    t = gettext.translation("reunite", localedir, [lang]) if lang != "en" else gettext.NullTranslations()
    s = {k: t.gettext(v).replace("_", "") if k != "and" else t.gettext(v) for k, v in STRINGS.items()}
    share = t.gettext(STRINGS["share"])
    s["share_key"] = share[share.index("_") + 1].lower()
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


def cli(db, env, *argv, stdin=None):
    return subprocess.run([args.cli, "--db", db] + list(argv), input=stdin, env=env,
                          capture_output=True, text=True, timeout=120)


def main():
    E.skip_without_tools("Xvfb", "xdotool", "setxkbmap", "dbus-daemon", "openbox")
    desk = E.Desktop(tap)
    s = strings(args.lang, os.environ.get("REUNITE_LOCALEDIR", ""))
    db = os.path.join(desk.home, "data", "reunite", "reunite.db")
    passfile = os.path.join(desk.home, "passphrase")
    with open(passfile, "w") as f:
        f.write(PASSPHRASE)
    cli_env = dict(os.environ, REUNITE_PASSPHRASE_FILE=passfile)
    os.makedirs(os.path.dirname(db))
    made = cli(db, cli_env, "init", "--kdf", "interactive")
    tap.ok(made.returncode == 0, "reunite-cli makes the office's store %s" % made.stderr.strip())
    for r in RECORDS:
        added = cli(db, cli_env, "add", stdin=json.dumps(r))
        tap.ok(added.returncode == 0, "reunite-cli registers %s %s" % (r["type"], added.stderr.strip()))

    env = {"LANGUAGE": args.lang}
    if args.lang == "ar":
        env["LANG"] = "ar_EG.UTF-8"
    app = E.App(tap, [args.app], env).start()
    reader = E.start_reader(tap, app.proc.pid) if args.screen_reader else None
    window = app.wait("the main window", lambda: app.frame(s["title"]))
    app.wait("the unlock page", lambda: E.one(window, "text", s["passphrase"]))
    E.type_text(PASSPHRASE)
    E.key("Return")
    app.wait("the case list", lambda: E.find_all(window, "list item"))

    # 1. Alt+3 opens the Matches page; the stale proposals are made, and the
    # best comes first and is shown.
    E.key("alt+3")
    plist = app.wait("the list of proposals", lambda: E.one(window, "list", s["list"]))
    rows = app.wait("two proposals", lambda: (lambda r: r if len(r) >= 2 else None)(E.find_all(plist, "list item")))
    tap.ok(len(rows) == 2, "two people are proposed for the son sought (%d)" % len(rows))
    first = s["and"] % ("إبراهيم يوسف", "Ibrahim Yusuf")
    second = s["and"] % ("إبراهيم يوسف", "Ibrahim Youssef")
    tap.ok(E.visible(E.name_of(rows[0])).startswith(first), "the boy registered where he was last seen comes first: %r"
           % E.visible(E.name_of(rows[0])))
    def on_show(pair):
        """The pair is selected in the list, and its comparison is beside it."""
        lst = E.one(window, "list", s["list"])
        row = lst and E.one(lst, "list item", pred=lambda n: E.visible(E.name_of(n)).startswith(pair))
        return (row is not None and E.has_state(row, E.pyatspi.STATE_SELECTED)
                and E.one(window, "label", pair, pred=lambda n: not E.inside(n, lst)) is not None)

    app.wait("the first proposal's comparison", lambda: on_show(first))
    tap.ok(E.one(window, "label", "Goma") is not None, "the places are compared side by side")
    if args.shots:
        time.sleep(0.5)
        desk.screenshot(os.path.join(args.shots, "matches-%s.png" % args.lang))

    # 2. Keyboard only: into the list, Down shows the second, Up the first.
    app.tab_to("a proposal", lambda f: E.role_of(f) == "list item")
    E.key("Home")
    E.key("Down")
    app.wait("the second proposal's comparison", lambda: on_show(second))
    E.key("Up")
    app.wait("the first proposal again", lambda: on_show(first))

    # 3. A reason typed, then Confirm, by Tab and Space.
    reason = E.one(window, "text", s["reason"])
    app.tab_to_node(reason, at=app.focused(), single=[s["list"]])
    E.type_text(REASON)
    tap.ok(E.text_of(reason) == REASON, "the reason is typed into its field (%r)" % E.text_of(reason))
    confirm = E.one(window, "push button", s["confirm"])
    app.tab_to_node(confirm, at=reason, single=[s["list"]])
    E.key("space")
    app.wait("the decision in the list", lambda: E.one(
        window, "list item", pred=lambda n: E.visible(E.name_of(n)).startswith(first) and s["confirmed"] in E.visible(E.name_of(n))))
    shown = cli(db, cli_env, "show", REQUEST)
    status = json.loads(shown.stdout).get("status") if shown.returncode == 0 else shown.stderr
    tap.ok(status == "located", "confirming moved the request to located (%s)" % status)
    matches = cli(db, cli_env, "matches", "--case", REQUEST)
    decided = [json.loads(l) for l in matches.stdout.splitlines() if '"decision"' in l]
    tap.ok(len(decided) == 1 and decided[0].get("reason") == REASON,
           "the decision and its reason are in the store %s" % matches.stderr.strip())

    # 4. Telling the family without the caregiver's or a protection
    # officer's decision is refused, and the page says why.
    share = app.wait("the Tell the Family button", lambda: E.one(window, "push button", s["share"]))
    tap.ok(share is not None, "a confirmed match offers to tell the family")
    # Its mnemonic, where the keyboard (US here) has the letter; otherwise
    # Tab to it and Space, as a volunteer with a Latin keyboard does.
    if s["share_key"].isascii():
        E.key("alt+" + s["share_key"])
    else:
        app.tab_to_node(share, at=app.focused(), single=[s["list"]])
        E.key("space")
    why = s["not_shared_child"] % CHILD
    app.wait("the reason it is refused", lambda: E.one(window, "label", why) or E.one(window, "alert", why))
    tap.ok(True, "telling the family is refused without the decision it needs, and the page says why")

    # 5. With the mouse: the second proposal, then Reject; it leaves the list.
    row = E.one(window, "list item", pred=lambda n: E.visible(E.name_of(n)).startswith(second))
    app.click_node(row, s["title"])
    app.wait("the second proposal's comparison", lambda: on_show(second))
    app.click_node(E.one(window, "push button", s["reject"]), s["title"])
    app.wait("the rejected pair to leave the list", lambda: len(E.find_all(
        E.one(window, "list", s["list"]), "list item")) == 1)
    tap.ok(E.one(window, "list item", pred=lambda n: E.visible(E.name_of(n)).startswith(second)) is None,
           "a rejected pair is no longer proposed")

    # 6. The request's own page lists its matches and the decisions on them;
    # Enter on one opens it on the Matches page, with the focus on it.
    E.key("alt+1")
    E.key("ctrl+f")
    app.wait("the search field", lambda: E.one(window, "entry", s["search"]))
    E.type_text("Amina")
    results = app.wait("the request, found by its enquirer", lambda: (lambda rows: rows if len(rows) == 1 else None)(
        [r for r in E.find_all(window, "list item") if E.inside(r, E.one(window, "list", s["cases"]))]))
    E.key("Down")
    app.wait_focus("the request's row", lambda f: f == results[0])
    E.key("Return")
    confirmed = app.wait("the request's confirmed match", lambda: E.one(
        window, "list item", shown=False, pred=lambda n: E.visible(E.name_of(n)).startswith("Ibrahim Yusuf")
        and s["confirmed"] in E.name_of(n)))
    rejected = E.one(window, "list item", shown=False, pred=lambda n: E.visible(E.name_of(n)).startswith(
        "Ibrahim Youssef") and s["rejected"] in E.name_of(n))
    tap.ok(rejected is not None, "the request lists the confirmed and the rejected pair")
    app.tab_to_node(confirmed, at=app.focused())
    E.key("Return")
    app.wait("the pair on the Matches page", lambda: on_show(first))
    focus = app.focused()
    tap.ok(focus is not None and E.visible(E.name_of(focus)).startswith(first),
           "the focus is on the pair in the list: %r" % (E.visible(E.name_of(focus)) if focus else None))

    E.key("ctrl+q")
    app.wait_exit("the app to quit")
    tap.ok(app.proc.returncode == 0, "Ctrl+Q quits (exit status %d)" % app.proc.returncode)
    if reader is not None:
        tap.ok(reader.wait(E.WAIT_S) == 0, "the screen reader read the tree while the app ran: %s"
               % reader.stdout.read().strip())


tap.run(main)
