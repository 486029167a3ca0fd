#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The desktop app end to end, driven through the accessibility bus as a
# screen reader or a person with a keyboard would: on an empty profile it
# creates the case database, registers a tracing request with Arabic names,
# finds it by a Latin spelling of the family name, changes its status, locks
# and unlocks; then reunite-cli reads the same database file and finds what
# the app wrote, and the file holds none of the names in plain text.
#
# Run under dbus-run-session and xvfb-run, with /usr/bin/python3 (pyatspi).
# TAP output.

import os
import shutil
import subprocess
import sys
import tempfile
import time

# The app runs with the suite's G_DEBUG (warnings are fatal); this process
# must not, as libatspi warns about a cache GTK 4.8 does not provide.
APP_G_DEBUG = os.environ.pop("G_DEBUG", None)

import pyatspi  # noqa: E402

APP, CLI = sys.argv[1], sys.argv[2]
PASSPHRASE = "correct horse battery staple"
GIVEN, FAMILY = "إبراهيم", "يوسف"
ENQUIRER = "أمينة"
WAIT_S = 30

steps = []


def step(ok, what):
    steps.append((bool(ok), what))
    print("%s %d %s" % ("ok" if ok else "not ok", len(steps), what), flush=True)
    if not ok:
        finish()


def finish():
    if app is not None and app.poll() is None:
        app.terminate()
        app.wait(10)
    failed = sum(1 for ok, _ in steps if not ok)
    print("1..%d" % len(steps))
    shutil.rmtree(home, ignore_errors=True)
    sys.exit(1 if failed else 0)


def children(node):
    try:
        return [c for c in node if c is not None]
    except Exception:
        return []


def walk(node):
    yield node
    for c in children(node):
        yield from walk(c)


def name_of(node):
    """A node's name. GTK 4.8 names a button with a mnemonic label by the
    label and its text ("_Save Save"): that counts as "Save"."""
    try:
        name = node.name or ""
    except Exception:
        return ""
    words = name.replace("_", "").split(" ")
    half = len(words) // 2
    if len(words) % 2 == 0 and words[:half] == words[half:]:
        return " ".join(words[:half])
    return name


def showing(node):
    # GTK 4.8 sets VISIBLE, not SHOWING, on the widgets of a window.
    try:
        states = node.getState()
        return states.contains(pyatspi.STATE_SHOWING) or states.contains(pyatspi.STATE_VISIBLE)
    except Exception:
        return False


def find_all(root, role, name=None, visible=True):
    out = []
    for n in walk(root):
        try:
            if n.getRoleName() != role:
                continue
        except Exception:
            continue
        if name is not None and name_of(n) != name:
            continue
        if visible and not showing(n):
            continue
        out.append(n)
    return out


def wait_for(what, fn):
    end = time.monotonic() + WAIT_S
    while time.monotonic() < end:
        try:
            found = fn()
        except Exception:
            found = None
        if found:
            return found
        time.sleep(0.2)
    step(False, "timed out waiting for " + what)


def the_app():
    desktop = pyatspi.Registry.getDesktop(0)
    for a in children(desktop):
        if name_of(a) == "reunite":
            return a
    return None


def frame(title):
    return next((f for f in find_all(reunite, "frame") if name_of(f) == title), None)


def one(root, role, name):
    nodes = find_all(root, role, name)
    return nodes[0] if nodes else None


def press(root, name):
    button = wait_for("the button '%s' among %s" % (name, [name_of(b) for b in find_all(root, "push button")]),
                      lambda: one(root, "push button", name))
    action = button.queryAction()
    for i in range(action.nActions):
        if action.getName(i) in ("click", "activate", "press"):
            action.doAction(i)
            return
    action.doAction(0)


def do_action(node, name):
    action = node.queryAction()
    names = [action.getName(i) for i in range(action.nActions)]
    step(name in names, "%s offers %s" % (name_of(node), name))
    action.doAction(names.index(name))


def type_into(node, text):
    node.queryEditableText().setTextContents(text)


def text_of(node):
    t = node.queryText()
    return t.getText(0, t.characterCount)


def cli(*args):
    env = dict(os.environ, REUNITE_PASSPHRASE_FILE=passfile)
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=60)


if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    print("1..0 # SKIP no display: run under xvfb-run")
    sys.exit(0)

home = tempfile.mkdtemp(prefix="reunite-e2e-")
for d in ("data", "config", "cache"):
    os.makedirs(os.path.join(home, d))
os.environ.update(HOME=home, XDG_DATA_HOME=os.path.join(home, "data"),
                  XDG_CONFIG_HOME=os.path.join(home, "config"), XDG_CACHE_HOME=os.path.join(home, "cache"))
os.environ.pop("GTK_A11Y", None)
passfile = os.path.join(home, "passphrase")
with open(passfile, "w") as f:
    f.write(PASSPHRASE)
db = os.path.join(home, "data", "reunite", "reunite.db")
app = None

# 1. An empty profile: the app offers to create the database.
app_env = dict(os.environ)
if APP_G_DEBUG:
    app_env["G_DEBUG"] = APP_G_DEBUG
app = subprocess.Popen([APP], env=app_env)
reunite = wait_for("the app on the accessibility bus", the_app)
window = wait_for("the main window", lambda: frame("Reunite"))
entries = wait_for("two passphrase entries",
                   lambda: (lambda e: e if len(e) == 2 else None)(
                       find_all(window, "text", "Passphrase") + find_all(window, "text", "Passphrase Again")))
step(not os.path.exists(db), "an empty profile asks for a new passphrase, twice")
type_into(entries[0], PASSPHRASE)
type_into(entries[1], PASSPHRASE)
press(window, "Create")
# The case list's widgets exist, hidden, before the database does; what
# only an open, empty database shows is its empty state.
wait_for("the empty case list", lambda: one(window, "label", "No Cases Yet"))
step(os.path.exists(db), "the database is created, in the default place")

# 2. A tracing request, with the names in Arabic script.
press(window, "New Case")
dialog = wait_for("the new case form", lambda: frame("New Case"))
given = wait_for("name fields", lambda: (lambda e: e if len(e) >= 2 else None)(
    find_all(dialog, "text", "Given name")))
family = find_all(dialog, "text", "Family name")
type_into(given[0], ENQUIRER)
type_into(family[0], FAMILY)
type_into(given[1], GIVEN)
type_into(family[1], FAMILY)
press(dialog, "Save")
wait_for("the form to close", lambda: frame("New Case") is None)
step(True, "a tracing request with Arabic names is saved from the form")

# 3. Found by the Latin spelling of the family name.
search = one(window, "entry", "Search cases by name")
type_into(search, "Yusuf")


def list_item_of(node):
    while node.getRoleName() != "list item":
        node = node.parent
    return node


def in_results():
    """The sought person's row once the results are shown: the list of all
    cases shows the same name, in one row; the results have two, for the
    enquirer and the sought person share the family name."""
    row = one(window, "label", "%s %s" % (GIVEN, FAMILY))
    return row if row is not None and list_item_of(row).parent.childCount == 2 else None


row = wait_for("the Arabic name in the results", in_results)
step(row is not None, "searching 'Yusuf' finds %s %s" % (GIVEN, FAMILY))

# 4. Opened, and its status changed.
# As a screen reader user does: select the row, then activate it.
item = list_item_of(row)
listing = item.parent
listing.querySelection().selectChild(item.getIndexInParent())
page = listing
while name_of(page) != "RflCasesPage":
    page = page.parent
do_action(page, "cases.open-selected")
wait_for("the case view", lambda: one(window, "push button", "Change Status"))
press(window, "Change Status")
wait_for("the new status", lambda: one(window, "label", "Now: Tracing"))
step(True, "the case moves from open to tracing")

# 5. Locked, then unlocked.
press(window, "Lock")
entry = wait_for("the unlock page", lambda: one(window, "text", "Passphrase"))
step(not find_all(window, "label", "%s %s" % (GIVEN, FAMILY), visible=False),
     "locking drops every record from the window")
type_into(entry, "not the passphrase")
press(window, "Unlock")
wait_for("the wrong passphrase to be refused",
         lambda: next((l for l in find_all(window, "label") if "passphrase" in name_of(l).lower() and
                       "wrong" in name_of(l).lower()), None))
step(True, "a wrong passphrase is refused")
type_into(entry, PASSPHRASE)
press(window, "Unlock")
wait_for("the case list again", lambda: one(window, "entry", "Search cases by name"))
step(True, "the right passphrase unlocks again")
app.terminate()
app.wait(20)

# 6. The same file, read by reunite-cli.
found = cli("search", "Yusuf")
step(found.returncode == 0 and GIVEN in found.stdout, "reunite-cli reads the app's database: " + found.stderr)
listed = cli("list", "--type", "tracing_request", "--status", "tracing")
step(listed.returncode == 0 and len(listed.stdout.strip().splitlines()) == 1,
     "reunite-cli sees the status the app set")
raw = b""
for suffix in ("", "-wal", "-shm", ".key"):
    if os.path.exists(db + suffix):
        with open(db + suffix, "rb") as f:
            raw += f.read()
step(not raw.startswith(b"SQLite format 3"), "the database file is encrypted")
step(all(n.encode() not in raw for n in (GIVEN, FAMILY, ENQUIRER, "Yusuf")),
     "no name appears in plain text in the database, its log or its key file")
finish()
