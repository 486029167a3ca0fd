# SPDX-License-Identifier: GPL-3.0-or-later
#
# What the end-to-end tests share: a private X server and session bus for
# the app, real input through XTest (xdotool), and the accessibility tree
# read as a screen reader reads it. Nothing here acts through AT-SPI: no
# actions, no text insertion. AT-SPI only tells the test what is on screen
# and where.
#
# Run with /usr/bin/python3 (pyatspi). TAP output.

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# The app runs with the suite's G_DEBUG (warnings are fatal); this process
# must not, as libatspi warns about a cache GTK 4.8 does not provide.
APP_G_DEBUG = os.environ.pop("G_DEBUG", None)

WAIT_S = 30


class Failed(Exception):
    pass


class Tap:
    """TAP steps; the first failure ends the run, after cleaning up."""

    def __init__(self):
        self.steps = []
        self.cleanups = []
        self.on_fail = None
        # meson's timeout sends SIGTERM: clean up (the X server, the buses)
        # as after a failure.
        signal.signal(signal.SIGTERM, self._terminated)

    def _terminated(self, signum, frame):
        self.on_fail = None
        raise Failed("terminated by signal %d" % signum)

    def ok(self, cond, what):
        self.steps.append(bool(cond))
        print("%s %d %s" % ("ok" if cond else "not ok", len(self.steps), what), flush=True)
        if not cond:
            if self.on_fail is not None:
                hook, self.on_fail = self.on_fail, None
                hook()
            raise Failed(what)

    def note(self, text):
        for line in str(text).splitlines():
            print("# " + line, flush=True)

    def run(self, body):
        code = 0
        try:
            body()
        except Failed as e:
            if str(e).startswith("terminated"):
                print("not ok %d %s" % (len(self.steps) + 1, e), flush=True)
                self.steps.append(False)
            code = 1
        except Exception as e:  # noqa: BLE001
            import traceback
            self.note(traceback.format_exc())
            self.steps.append(False)
            print("not ok %d unexpected error: %s" % (len(self.steps), e), flush=True)
            code = 1
        finally:
            for fn in reversed(self.cleanups):
                try:
                    fn()
                except Exception:  # noqa: BLE001
                    pass
        print("1..%d" % len(self.steps), flush=True)
        sys.exit(code)


def skip_without_tools(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        print("1..0 # SKIP missing %s" % ", ".join(missing))
        sys.exit(0)


class Desktop:
    """A private X server (Xvfb) and session bus, so that the keyboard
    layout, the focus and the accessibility bus belong to this test only."""

    def __init__(self, tap, width=1366, height=768):
        self.tap = tap
        self.home = tempfile.mkdtemp(prefix="reunite-e2e-")
        for d in ("data", "config", "cache"):
            os.makedirs(os.path.join(self.home, d))
        tap.cleanups.append(lambda: shutil.rmtree(self.home, ignore_errors=True))
        r, w = os.pipe()
        self.xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0",
                                      "%dx%dx24" % (width, height), "-nolisten", "tcp"],
                                     pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(w)
        with os.fdopen(r) as f:
            display = f.readline().strip()
        tap.cleanups.append(lambda: stop(self.xvfb))
        if not display:
            raise RuntimeError("Xvfb did not start")
        # The bus and the accessibility bus it starts put their sockets
        # under this test's own runtime directory.
        runtime = os.path.join(self.home, "runtime")
        os.makedirs(runtime, mode=0o700)
        os.environ.update(DISPLAY=":" + display, HOME=self.home, XDG_RUNTIME_DIR=runtime,
                          XDG_DATA_HOME=os.path.join(self.home, "data"),
                          XDG_CONFIG_HOME=os.path.join(self.home, "config"),
                          XDG_CACHE_HOME=os.path.join(self.home, "cache"), GDK_BACKEND="x11")
        bus = subprocess.run(["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
                             capture_output=True, text=True, check=True).stdout.split()
        self.bus_pid = int(bus[1])
        tap.cleanups.append(lambda: os.kill(self.bus_pid, signal.SIGTERM))
        # The accessibility bus that the session bus starts lives under the
        # runtime directory, and outlives the session bus.
        tap.cleanups.append(lambda: subprocess.run(["pkill", "-f", runtime], capture_output=True))
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = bus[0]
        # A window manager, as on a volunteer's laptop: it gives the focus
        # back to the main window when a dialog closes.
        self.wm = subprocess.Popen(["openbox", "--sm-disable"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        tap.cleanups.append(lambda: stop(self.wm))
        end = time.monotonic() + 10
        while subprocess.run(["xdotool", "get_desktop"], capture_output=True).returncode != 0:
            if time.monotonic() > end:
                raise RuntimeError("the window manager did not start")
            time.sleep(0.05)
        os.environ.pop("GTK_A11Y", None)
        os.environ.pop("WAYLAND_DISPLAY", None)
        self.layout("us")
        # A failure leaves a picture of the screen where the run's logs go.
        self.failure_shot = os.path.join(os.environ.get("E2E_FAILURE_DIR", tempfile.gettempdir()),
                                         "%s-failure.png" % os.path.basename(sys.argv[0]).rsplit(".", 1)[0])
        tap.on_fail = self.shoot_failure

    def shoot_failure(self):
        try:
            self.screenshot(self.failure_shot)
            self.tap.note("the screen at the failure: " + self.failure_shot)
        except Exception:  # noqa: BLE001
            pass

    def layout(self, name):
        subprocess.run(["setxkbmap", "-layout", name], check=True)

    def screenshot(self, path):
        subprocess.run(["import", "-window", "root", path], check=True)


def stop(proc, timeout=10):
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# Real input: XTest events from xdotool.

def xdo(*args):
    subprocess.run(["xdotool", *args], check=True)


def key(*names):
    for n in names:
        xdo("key", "--clearmodifiers", n)
        time.sleep(0.08)


def type_text(text):
    xdo("type", "--delay", "25", text)
    time.sleep(0.1)


def click(x, y):
    xdo("mousemove", str(int(x)), str(int(y)), "click", "1")
    time.sleep(0.15)
    park_pointer()


def park_pointer():
    """Moves the pointer off the windows. Drop-down lists select what is
    under a pointer that a list scrolls beneath: a pointer left where it
    clicked would change what the keyboard picks."""
    xdo("mousemove", "1365", "767")


# The screen, read through AT-SPI.

import pyatspi  # noqa: E402


def children(node):
    try:
        return [c for c in node if c is not None]
    except Exception:  # noqa: BLE001
        return []


def walk(node):
    yield node
    for c in children(node):
        yield from walk(c)


def name_of(node):
    try:
        return node.name or ""
    except Exception:  # noqa: BLE001
        return ""


BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def visible(text):
    """The text as a reader sees it: without the invisible marks that only
    set the direction of its parts."""
    return (text or "").translate(BIDI_CONTROLS)


def role_of(node):
    try:
        return node.getRoleName()
    except Exception:  # noqa: BLE001
        return ""


def has_state(node, state):
    try:
        return node.getState().contains(state)
    except Exception:  # noqa: BLE001
        return False


def actions_of(node):
    """The actions a screen reader can run on node (read only)."""
    try:
        a = node.queryAction()
        return [a.getName(i) for i in range(a.nActions)]
    except Exception:  # noqa: BLE001
        return []


def invalid(node):
    """Whether a field is marked invalid. GTK 4.8 reports the invalid state
    as AT-SPI's INVALID, where later versions say INVALID_ENTRY."""
    return has_state(node, pyatspi.STATE_INVALID_ENTRY) or has_state(node, pyatspi.STATE_INVALID)


def extents(node):
    try:
        e = node.queryComponent().getExtents(pyatspi.WINDOW_COORDS)
        return (e.x, e.y, e.width, e.height)
    except Exception:  # noqa: BLE001
        return (0, 0, 0, 0)


def on_screen(node):
    """GTK 4.8 marks every widget of a window VISIBLE, even those of a
    hidden stack page; what is drawn has a size."""
    x, y, w, h = extents(node)
    return has_state(node, pyatspi.STATE_VISIBLE) and w > 0 and h > 0


def find_all(root, role=None, name=None, shown=True, pred=None):
    out = []
    for n in walk(root):
        if role is not None and role_of(n) != role:
            continue
        if name is not None and visible(name_of(n)) != name:
            continue
        if shown and not on_screen(n):
            continue
        if pred is not None and not pred(n):
            continue
        out.append(n)
    return out


def one(root, role=None, name=None, **kw):
    nodes = find_all(root, role, name, **kw)
    return nodes[0] if nodes else None


def text_of(node):
    try:
        t = node.queryText()
        return t.getText(0, t.characterCount)
    except Exception:  # noqa: BLE001
        return None


def focus_among(nodes):
    """Which of nodes has the focus: a quick focused(), where the nodes that
    can take it are known."""
    return next((n for n in nodes if has_state(n, pyatspi.STATE_FOCUSED)), None)


def focused(root):
    for n in walk(root):
        if has_state(n, pyatspi.STATE_FOCUSED) and role_of(n) not in ("frame", "window", "dialog"):
            return n
    return None


def ancestors(node):
    while node is not None:
        yield node
        try:
            node = node.parent
        except Exception:  # noqa: BLE001
            return


def ancestors_key(node):
    """Which list a row belongs to."""
    try:
        return node.parent.path
    except Exception:  # noqa: BLE001
        return None


def inside(node, root):
    return any(a == root for a in ancestors(node))


class App:
    """The app under test, and where its windows are on the X screen."""

    def __init__(self, tap, argv, env=None):
        self.tap = tap
        self.argv = argv
        self.env = dict(os.environ, **(env or {}))
        if APP_G_DEBUG:
            self.env["G_DEBUG"] = APP_G_DEBUG
        self.proc = None
        self.root = None

    def start(self):
        self.proc = subprocess.Popen(self.argv, env=self.env)
        self.tap.cleanups.append(lambda: stop(self.proc))
        self.root = self.wait("the app on the accessibility bus", self.find_root)
        return self

    def find_root(self):
        for a in children(pyatspi.Registry.getDesktop(0)):
            if name_of(a) == "reunite":
                try:
                    if a.get_process_id() != self.proc.pid:
                        continue
                except Exception:  # noqa: BLE001
                    pass
                return a
        return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait(self, what, fn, timeout=WAIT_S):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc is not None and self.proc.poll() is not None:
                self.tap.ok(False, "the app is running while waiting for %s (exit status %s)"
                            % (what, self.proc.returncode))
            try:
                found = fn()
            except Exception:  # noqa: BLE001
                found = None
            if found:
                return found
            time.sleep(0.15)
        self.tap.ok(False, "timed out waiting for " + what)

    def wait_exit(self, what, timeout=WAIT_S):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.tap.ok(False, "timed out waiting for " + what)

    def frames(self):
        # Every child of the application is a window. GTK 4.8 gives some the
        # role "filler" (the file chooser dialog, a window whose focus was set
        # before it was shown).
        return children(self.root)

    def frame(self, title):
        return next((f for f in self.frames() if name_of(f) == title and on_screen(f)), None)

    def window_origin(self, title):
        """The top-left corner of a window's client area on the X screen."""
        ids = subprocess.run(["xdotool", "search", "--onlyvisible", "--pid", str(self.proc.pid),
                              "--name", "^%s$" % title], capture_output=True, text=True).stdout.split()
        if not ids:
            return (0, 0)
        out = subprocess.run(["xdotool", "getwindowgeometry", "--shell", ids[-1]],
                             capture_output=True, text=True).stdout
        vals = dict(l.split("=", 1) for l in out.split() if "=" in l)
        return (int(vals.get("X", 0)), int(vals.get("Y", 0)))

    def click_node(self, node, title):
        ox, oy = self.window_origin(title)
        x, y, w, h = extents(node)
        click(ox + x + w / 2, oy + y + h / 2)

    def active_frame(self):
        """The window with the keyboard focus. GTK 4.8 does not always mark
        a message dialog active: then the newest window shown."""
        frames = [f for f in self.frames() if on_screen(f)]
        return next((f for f in frames if has_state(f, pyatspi.STATE_ACTIVE)), frames[-1] if frames else None)

    def focused(self):
        """The control with the keyboard focus, in the window that has it.
        GTK 4.8 reports no focus for a text field (the GtkText inside an
        entry has no accessible of its own): there this returns None."""
        frame = self.active_frame()
        return focused(frame) if frame is not None else None

    def wait_focus(self, what, pred):
        return self.wait(what, lambda: (lambda f: f if f is not None and pred(f) else None)(self.focused()))

    def tab_to(self, what, pred, limit=60, back=False):
        """Press Tab (or Shift+Tab) until the focused control is what pred
        accepts; returns it. This is how a keyboard user reaches a control."""
        for _ in range(limit):
            f = self.focused()
            if f is not None and pred(f):
                return f
            if os.environ.get("E2E_DEBUG"):
                self.tap.note("tab_to %s: focus on %s %r" % (what, role_of(f), name_of(f)))
            key("shift+Tab" if back else "Tab")
            time.sleep(0.05)
        f = self.focused()
        if f is not None and pred(f):
            return f
        self.tap.ok(False, "Tab reaches %s (focus is on %s %r)" % (what, role_of(f), name_of(f)))

    def tab_to_node(self, target, at=None, back=None, single=()):
        """Press Tab (Shift+Tab with back) until the focus is on target.
        Where the focus is not reported (a text field), the test knows it
        from the order of the controls on screen, and checks every stop that
        is reported against that order on the way. at: where the focus is,
        when it is in a text field. Without back, it goes the short way.
        single: the names of the lists that are one stop."""
        frame = self.active_frame()
        stops = tab_stops(frame, single=single)
        cur = self.focused() or at
        if cur not in stops or target not in stops:
            self.tap.ok(False, "%s %r and %s %r are controls of the window"
                        % (role_of(cur), name_of(cur), role_of(target), name_of(target)))
        i, j = stops.index(cur), stops.index(target)
        if back is None:
            # The short way, without going round the window.
            back = j < i
        steps = (i - j) % len(stops) if back else (j - i) % len(stops)
        prev = cur
        for k in range(1, steps + 1):
            key("shift+Tab" if back else "Tab")
            expected = stops[(i - k if back else i + k) % len(stops)]
            f = self.focused()
            # GTK 4.8 reports the focus of a text view, but not of an entry.
            ok = f == expected or (f is None and role_of(expected) == "text")
            if not ok:
                self.tap.ok(False, "Tab goes from %s %r on to %s %r (focus is on %s %r)" % (
                    role_of(prev), name_of(prev), role_of(expected), name_of(expected), role_of(f), name_of(f)))
            prev = expected
        return target

    def fill(self, target, text, at=None, layout=None):
        """Tab to a text field and type into it, through a keyboard layout
        if given; checks that the text arrived there."""
        self.tab_to_node(target, at=at)
        if layout:
            subprocess.run(["setxkbmap", "-layout", layout], check=True)
        type_text(text)
        if layout:
            subprocess.run(["setxkbmap", "-layout", "us"], check=True)
        got = text_of(target)
        self.tap.ok(got == text, "typed %r into %r (it holds %r)" % (text, name_of(target), got))
        return target

    def choose(self, combo, value, at=None, pick="Return"):
        """Tab to a drop-down, open it with Space, move with the arrow keys
        to value and pick it with pick (Enter or Space). Each row on the way
        must be named and offer a screen reader its action."""
        self.tab_to_node(combo, at=at)
        key("space")
        prev = None
        for _ in range(40):
            # Wait for the highlight to move before reading it.
            item = self.wait("the drop-down's list", lambda: one(
                combo, "list item", pred=lambda n: has_state(n, pyatspi.STATE_FOCUSED) and n != prev), timeout=5)
            if not name_of(item) or "row.activate" not in actions_of(item):
                self.tap.ok(False, "a row of %r has a name (%r) and an action (%s)"
                            % (name_of(combo), name_of(item), actions_of(item)))
            if name_of(item) == value:
                key(pick)
                break
            prev = item
            key("Down")
        self.wait("%r chosen in %r" % (value, name_of(combo)), lambda: combo_value(combo) == value)
        return combo


def combo_value(combo):
    """What a drop-down shows as chosen: its label outside the popover."""
    for l in find_all(combo, "label", shown=False):
        if name_of(l) != name_of(combo) and not any(name_of(a) == "GtkPopover" for a in ancestors(l)):
            return name_of(l)
    return None


# What Tab stops on: every control that takes the focus, in the order of
# the tree, but for the insides of a drop-down (its button and list).
# GTK 4.8 marks FOCUSABLE every widget whose "focusable" is set, whether
# Tab can stop there or not; nodes of other roles are left out as Tab
# never stops on them: a list box or list view passes the focus to its
# rows, a drop-down's button focuses itself and not the value it shows
# (a GtkListItemWidget, or a list view whose "can-focus" is off in an
# AdwComboRow). A scroll pane takes the focus only where nothing inside it
# does (an empty page), so that the keys can scroll it; the page around it
# has the name.
STOP_ROLES = {"text", "entry", "password text", "combo box", "push button", "toggle button", "check box",
              "radio button", "list item", "spin button", "link", "slider", "switch", "menu button"}


def has_size(node):
    x, y, w, h = extents(node)
    return w > 0 and h > 0


def is_stack_page(node):
    """GTK 4.8 puts a GtkStackPage between a stack and each of its pages:
    the only node of the tree that is not a widget, and so the only one
    with no place on screen (no Component)."""
    try:
        return "Component" not in node.get_interfaces()
    except Exception:  # noqa: BLE001
        return False


def shown_page(frame, pages):
    """Which of one stack's pages the window shows, or None. GTK 4.8 marks
    every page VISIBLE and none SHOWING, and a hidden page keeps the places
    its widgets had when it was last shown. A page never shown has no size;
    between pages that have one, the window's hit test tells, as it only
    finds widgets that are drawn. It answers nothing for a widget that is
    not in the tree (the text inside an entry, the icon of a button), so
    the points tried are the middles of nodes of the pages, until one hit
    lands inside one of them."""
    sized = [p for p in pages if any(has_size(c) for c in children(p))]
    if len(sized) <= 1:
        return sized[0] if sized else None
    paths = {p.path: p for p in sized}
    _, _, fw, fh = extents(frame)
    tries = 0
    for p in sized:
        for n in walk(p):
            x, y, w, h = extents(n)
            cx, cy = x + w // 2, y + h // 2
            if w <= 0 or h <= 0 or not (0 <= cx < fw and 0 <= cy < fh):
                continue
            tries += 1
            if tries > 200:
                break
            try:
                hit = frame.queryComponent().getAccessibleAtPoint(cx, cy, pyatspi.WINDOW_COORDS)
            except Exception:  # noqa: BLE001
                hit = None
            for a in ancestors(hit):
                if a.path in paths:
                    return paths[a.path]
    raise RuntimeError("cannot tell which of the pages %s the window shows"
                       % ", ".join(repr(name_of(p)) for p in sized))


def walk_shown(frame, node):
    """walk(), but into the page of each stack that the window shows only."""
    yield node
    kids = children(node)
    pages = [k for k in kids if is_stack_page(k)]
    if pages:
        shown = shown_page(frame, pages)
        hidden = {k.path for k in pages if shown is None or k.path != shown.path}
        kids = [k for k in kids if k.path not in hidden]
    for c in kids:
        yield from walk_shown(frame, c)


def tab_stops(root, shown=False, single=()):
    """The controls Tab stops on; with shown, only those on the pages the
    window shows (root is then a window). single: the names of the lists
    that are one stop."""
    out = []
    for n in (walk_shown(root, root) if shown else walk(root)):
        if role_of(n) not in STOP_ROLES or not on_screen(n):
            continue
        # A control that cannot take the focus, and holds nothing that can
        # (as a drop-down holds its button), is one Tab cannot reach: with
        # shown, it is listed, for the walk to find it missing.
        if not has_state(n, pyatspi.STATE_FOCUSABLE) and (not shown or any(
                has_state(d, pyatspi.STATE_FOCUSABLE) for d in list(walk(n))[1:])):
            continue
        if has_state(n, pyatspi.STATE_SENSITIVE) is False and not has_state(n, pyatspi.STATE_ENABLED):
            continue
        up = list(ancestors(n))[1:]
        # A drop-down's list and the value it shows are not stops: the
        # drop-down is. A GtkDropDown is not focusable itself; its button,
        # which has its name, is where Tab stops.
        if any(role_of(a) == "combo box" for a in up) and not (
                role_of(n) == "push button" and role_of(up[0]) == "combo box"
                and not has_state(up[0], pyatspi.STATE_FOCUSABLE)):
            continue
        # An expander row is a row holding its header row: Tab stops on the
        # header only.
        if role_of(n) == "list item" and any(role_of(d) == "list item" and has_state(d, pyatspi.STATE_FOCUSABLE)
                                             for d in list(walk(n))[1:]):
            continue
        # A list named in single is one stop, on its selected row: Tab
        # leaves it, the arrow keys move in it.
        if (role_of(n) == "list item" and single and not has_state(n, pyatspi.STATE_SELECTED)
                and name_of(n.parent) in single):
            continue
        out.append(n)
    return out


def read_tree_forever(pid):
    """The screen reader: like Orca, it listens to every event the app
    sends (which makes GTK send them) and reads the object each is about;
    and it reads every node of the tree, with its name, role, states, text,
    actions and place, over and over, until the app is gone. Errors from
    nodes that vanish while being read are what a screen reader meets too,
    and are ignored."""
    import pyatspi
    from gi.repository import GLib
    counts = {"walks": 0, "events": 0}

    def read(n):
        try:
            n.name, n.description, n.getRoleName(), n.getState().getStates(), n.getAttributes()
            n.getRelationSet()
            extents(n)
            ifaces = pyatspi.listInterfaces(n)
            if "Text" in ifaces:
                text_of(n)
            if "Action" in ifaces:
                act = n.queryAction()
                [act.getName(i) for i in range(act.nActions)]
        except Exception:  # noqa: BLE001
            pass

    def on_event(event):
        counts["events"] += 1
        read(event.source)

    def walk_all():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            loop.quit()
            return False
        for a in children(pyatspi.Registry.getDesktop(0)):
            if name_of(a) == "reunite":
                for n in walk(a):
                    read(n)
        counts["walks"] += 1
        return True

    for kind in ("object:", "window:", "focus:", "document:"):
        pyatspi.Registry.registerEventListener(on_event, kind)
    loop = GLib.MainLoop()
    GLib.timeout_add(50, walk_all)
    loop.run()
    print("%d times, and handled %d events" % (counts["walks"], counts["events"]), flush=True)


def start_reader(tap, pid):
    """Reads the app's accessibility tree as a screen reader does, in another
    process, until the app with this pid is gone; its exit status and output
    (how often it read) tell whether it met a crash."""
    reader = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--reader", str(pid)],
                              stdout=subprocess.PIPE, text=True)
    tap.cleanups.append(lambda: stop(reader))
    return reader


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--reader":
    read_tree_forever(int(sys.argv[2]))
