#!/usr/bin/env python3
"""The tree checks CI runs after fmt and clippy (.ci/run). Each finding is one line, FILE:LINE: what.

1. Every repository path the tree cites exists: a path that starts with one of the repository's
   top-level directories (crates/, scripts/, docs/, scenarios/, results/, deploy/, fuzz/, .ci/) or
   names a Markdown file (README.md, ARCHITECTURE.md, FINDINGS.md, docs/browsers.md, ...), in the
   comments of Rust files and anywhere in Markdown, shell, Python, awk, TOML, YAML and Dockerfiles;
   and every relative Markdown link. A bare file name is looked up beside the citing file, then at
   the root. Paths git ignores (runs/, results/*) are output, not citations, as are the results
   files a script under scripts/ (or a README under results/) names as what it writes; a pattern
   (`crates/*/src`, `scripts/<dir>/`, `{a,b}`) is checked up to its fixed part.
2. Every section citation names a heading of that file: `FILE.md, "Heading"`, `FILE.md "Heading"`,
   `` `FILE.md`, "Heading" ``, `FILE.md ("Heading"`, and Markdown links `FILE.md#anchor`.
3. No absolute path of a particular machine anywhere (Cargo.lock files excepted): the work and root directories under /,
   /home/USER/, or /tmp/ followed by a repository file. System paths (/usr/bin/chromium, /proc,
   /dev/net/tun) and scratch files (/tmp/ssebench.pem) are fine.
4. Every results file under results/benchmarks/ (what a README table's figures are read from,
   tracked; a table naming one that is missing is caught by 1.) is as scripts/lib/results.sh
   writes it: the command, date, git revision, machine and load average at start, the column
   line, and the load average at end.

  scripts/check-tree.py [--root DIR]   exit 0: clean; 1: findings (listed)
  scripts/check-tree.py --self-test    builds a fixture tree with one fault of each kind and checks
                                       that each is reported (exit 1) and that the fixed tree passes
"""
import argparse
import bisect
import fnmatch
import os
import re
import subprocess
import sys
import tempfile

CITING = (".md", ".sh", ".py", ".awk", ".toml", ".yaml", ".yml")
CITING_NAMES = ("Dockerfile", "run")
SKIP = ("Cargo.lock",)
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
SECTION = re.compile(r"((?:[\w.-]+/)*[\w.-]+\.md)`?\s*,?\s*\(?\s*\"([^\"\s][^\"]*)\"")
MD_LINK = re.compile(r"\]\(([^()\s]+)\)")
# The roots are joined at run time so that this file does not name them itself.
MACHINE = re.compile(r"(?<![\w.~-])(" + "|".join(["/" + "work/", "/" + "root/"]) + r"|/home/[^/\s\"'`]+/)")
TMP = re.compile(r"(?<![\w.~-])/tmp/([\w.+/-]+)")
COMMENT_MARK = re.compile(r"\s*\n\s*(?:#|//[/!]?)?\s*")
WRAPPED = re.compile(r"(?<=[\w.-]/)[ \t]*\n[ \t]*(?:#|//[/!]?)? ?(?=[\w.-])")


class Joined(str):
    """Text with each path wrapped at a `/` line end joined again; `removed` keeps the offsets
    where a line break went, so findings still give the original line."""

    @staticmethod
    def of(text):
        parts, removed, last, cut = [], [], 0, 0
        for m in WRAPPED.finditer(text):
            parts.append(text[last:m.start()])
            removed.append(m.start() - cut)
            cut += m.end() - m.start()
            last = m.end()
        joined = Joined("".join(parts) + text[last:])
        joined.removed = removed
        return joined


def tree_files(root):
    """Files of the tree as a clean clone has them: tracked, plus new files not ignored."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], check=True, capture_output=True).stdout
        files = [f for f in out.decode().split("\0") if f and os.path.isfile(os.path.join(root, f))]
        return sorted(set(files)), True
    except (OSError, subprocess.CalledProcessError):
        files = []
        for d, dirs, names in os.walk(root):
            dirs[:] = [x for x in dirs if x not in (".git", "target")]
            files += [os.path.relpath(os.path.join(d, n), root) for n in names]
        return sorted(files), False


def ignored(root, paths, is_git):
    paths = [p for p in paths if not p.startswith(("/", "..")) and p.strip()]
    if not is_git or not paths:
        return set()
    r = subprocess.run(["git", "-C", root, "check-ignore", "--no-index", "--stdin"],
                       input="\n".join(paths), capture_output=True, text=True)
    return set(r.stdout.split())


def headings(text):
    out, fenced = set(), False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and (m := HEADING.match(line)):
            out.add(m.group(2))
    return out


def slug(heading):
    s = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower())
    return s.replace(" ", "-")


def rust_comments(text):
    """The text of each line's `//` comment (doc comments included), other lines blank."""
    lines = []
    for line in text.split("\n"):
        i, quotes = line.find("//"), 0
        while i >= 0:
            quotes = line[:i].count('"') - line[:i].count('\\"')
            if quotes % 2 == 0 and not line[:i].endswith(":"):
                break
            i = line.find("//", i + 2)
        lines.append(line[i:] if i >= 0 else "")
    return "\n".join(lines)


class Tree:
    def __init__(self, root):
        self.root = root
        self.files, self.is_git = tree_files(root)
        self.fileset = set(self.files)
        self.dirs = {os.path.dirname(f) for f in self.files}
        for d in list(self.dirs):
            while d:
                d = os.path.dirname(d)
                self.dirs.add(d)
        self.top = sorted({f.split("/")[0] for f in self.files if "/" in f})
        self.findings = []
        self.pending = []  # (file, text, offset, path, what): reported unless git ignores the path
        self._headings = {}

    def exists(self, path):
        path = os.path.normpath(path).rstrip("/") if path not in ("", ".") else ""
        return path in self.fileset or path in self.dirs

    def candidates(self, citing, path):
        """The repository paths a citation may name: beside the citing file, then at the root."""
        out = []
        for cand in (os.path.normpath(os.path.join(os.path.dirname(citing), path)), path):
            if self.exists(cand) and os.path.normpath(cand) not in out:
                out.append(os.path.normpath(cand))
        return out

    def resolve(self, citing, path):
        found = self.candidates(citing, path)
        return found[0] if found else None

    def heading_set(self, path):
        if path not in self._headings:
            with open(os.path.join(self.root, path), encoding="utf-8", errors="replace") as f:
                self._headings[path] = headings(f.read())
        return self._headings[path]

    def report(self, citing, text, pos, what):
        line = text.count("\n", 0, pos) + bisect.bisect(getattr(text, "removed", []), pos) + 1
        self.findings.append("%s:%d: %s" % (citing, line, what))

    # -- 1. paths -----------------------------------------------------------------------------
    def check_paths(self, citing, text):
        tops = "|".join(re.escape(t) for t in self.top)
        pat = re.compile(r"(?<![\w./~$@-])((?:%s)/[\w.+/-]*|[\w.+-][\w.+/-]*\.md\b)" % tops)
        for m in pat.finditer(text):
            path, after = m.group(1).rstrip("."), text[m.end():m.end() + 1]
            if "://" in text[max(0, m.start() - 8):m.start() + 3]:
                continue
            if after == "*":  # a glob: it must match something
                glob = path + re.match(r"[\w.*/-]*", text[m.end():]).group(0)
                if not any(fnmatch.fnmatch(p, glob.rstrip("/")) for p in self.fileset | self.dirs):
                    self.pending.append((citing, text, m.start(), path.rstrip("/"),
                                         "no path matches '%s'" % glob))
                continue
            if after in "<{$[" and after:  # a placeholder: the fixed part must exist
                path = path.rsplit("/", 1)[0] if "/" in path.rstrip("/") else path
            if self.resolve(citing, path) is None:
                self.pending.append((citing, text, m.start(), path, "no such path '%s'" % path))
        if citing.endswith(".md"):
            for m in MD_LINK.finditer(text):
                target = m.group(1)
                if re.match(r"^[a-z]+:", target):
                    continue
                path, _, anchor = target.partition("#")
                found = self.resolve(citing, path) if path else citing
                if found is None:
                    self.pending.append((citing, text, m.start(), path, "no such path '%s'" % path))
                elif anchor and found.endswith(".md"):
                    if anchor not in {slug(h) for h in self.heading_set(found)}:
                        self.report(citing, text, m.start(), "no heading #%s in %s" % (anchor, found))

    # -- 2. sections --------------------------------------------------------------------------
    def check_sections(self, citing, text):
        for m in SECTION.finditer(text):
            found = [f for f in self.candidates(citing, m.group(1)) if f.endswith(".md")]
            if not found:
                continue  # reported as a missing path
            cited = COMMENT_MARK.sub(" ", m.group(2)).strip().replace("`", "")
            have = {h.replace("`", "") for f in found for h in self.heading_set(f)}
            if cited not in have:
                self.report(citing, text, m.start(), 'no heading "%s" in %s' % (cited, found[-1]))

    # -- 3. machine paths ---------------------------------------------------------------------
    def check_machine(self, citing, text):
        for m in MACHINE.finditer(text):
            self.report(citing, text, m.start(), "absolute path of a machine '%s'" % m.group(1))
        for m in TMP.finditer(text):
            parts = m.group(1).rstrip(".").split("/")
            for i in range(len(parts)):
                cand = "/".join(parts[i:])
                if cand and (parts[i] in self.top or cand in self.fileset) and self.exists(cand):
                    self.report(citing, text, m.start(), "absolute path of a machine '/tmp/%s'"
                                % m.group(1))
                    break

    # -- 4. results files ---------------------------------------------------------------------
    RESULTS_HEADER = ("# command: ", "# date: ", "# git: ", "# machine: ", "# load average at start: ")

    def check_results(self, path, text):
        lines = text.splitlines()
        head = [l for l in lines if l.startswith("# ")]
        for want in self.RESULTS_HEADER:
            if not any(l.startswith(want) for l in head):
                self.findings.append("%s:1: results file without its '%s' line" % (path, want.strip()))
        if "run\tcase\tmetric\tvalue" not in lines:
            self.findings.append("%s:1: results file without its column line (run case metric value)"
                                 % path)
        if not any(l.startswith("# load average at end: ") for l in lines):
            self.findings.append("%s:%d: results file without its closing load average (an "
                                 "unfinished run?)" % (path, len(lines)))

    def run(self):
        me = os.path.relpath(os.path.abspath(__file__), self.root)
        for f in self.files:
            if os.path.basename(f) in SKIP or f == me:  # this file spells out the patterns
                continue
            try:
                with open(os.path.join(self.root, f), encoding="utf-8") as fh:
                    text = fh.read()
            except (UnicodeDecodeError, OSError):
                continue
            self.check_machine(f, text)
            if f.startswith("results/benchmarks/") and f.endswith(".tsv"):
                self.check_results(f, text)
            if f.endswith(".rs"):
                cited = rust_comments(text)
            elif f.endswith(CITING) or os.path.basename(f) in CITING_NAMES:
                cited = text
            else:
                continue
            cited = Joined.of(cited)
            self.check_paths(f, cited)
            self.check_sections(f, cited)
        gone = ignored(self.root, sorted({p[3] for p in self.pending}), self.is_git)
        for citing, text, pos, path, what in self.pending:
            # A script names the results files it writes, and results/*/README.md those its
            # directory's scripts write: output, not a citation. A README or doc naming a missing
            # results file is still reported.
            output = path.startswith("results/") and citing.startswith(("scripts/", "results/"))
            if path not in gone and not output:
                self.report(citing, text, pos, what)
        return self.findings


def self_test():
    """One fault of each kind in a fixture tree: each must be reported; the fixed tree passes."""
    machine = "/wo" + "rk/notes/facts.md"  # split so this file itself stays clean
    results = ("# command: scripts/ok.sh\n# date: 2026-12-06T14:03:11Z\n# git: 1a2b3c4 (dirty: no)\n"
               "# machine: 2 cores\n# load average at start: 1.00 1.00 1.00\n"
               "run\tcase\tmetric\tvalue\n1\ta\tb\t3\nmedian\ta\tb\t3\n"
               "# load average at end: 1.00 1.00 1.00\n")
    fixture = {
        "README.md": "# Fixture\n\n## Real heading\n\n| what | figure |\n| --- | --- |\n"
                     "| a | 3 (results/benchmarks/ok.tsv) |\n",
        ".gitignore": "runs/\n/results/*\n!/results/benchmarks/\n",
        "results/benchmarks/ok.tsv": results,
        "results/benchmarks/cut.tsv": results,
        "docs/guide.md": "# Guide\n\nSee `docs/guide.md`, [the top](../README.md#real-heading), "
                         "scripts/ok.sh, scripts/runs/output.txt and results/run.csv (ignored "
                         "output).\n"
                         "Scratch files such as /tmp/fixture.pem are fine.\n",
        "scripts/ok.sh": "#!/bin/sh\n# Reads docs/guide.md (`README.md`, \"Real heading\").\n",
        "crates/a/src/lib.rs": "//! The rule (`README.md`, \"Real\n//! heading\"), in docs/\n"
                               "//! guide.md.\n"
                               "fn f() -> &'static str { \"crates/not/a/comment.rs\" }\n",
    }
    faults = {
        "README.md": ("missing results file", "| b | 4 (results/benchmarks/gone.tsv) |\n"),
        "results/benchmarks/cut.tsv": ("unfinished results file", None),
        "docs/guide.md": ("missing path", "Also crates/a/src/gone.rs.\n"),
        "scripts/ok.sh": ("missing heading", "# See README.md, \"No such heading\".\n"),
        "crates/a/src/lib.rs": ("machine path", "// Evidence: %s\n" % machine),
        ".ci/run": ("machine path in /tmp", "cd /tmp/checkout/crates/a\n"),
    }
    expected = {"missing results file": "no such path 'results/benchmarks/gone.tsv'",
                "unfinished results file": "results/benchmarks/cut.tsv:8: results file without "
                                           "its closing load average",
                "missing path": "no such path 'crates/a/src/gone.rs'",
                "missing heading": 'no heading "No such heading" in README.md',
                "machine path": "absolute path of a machine '/wo" + "rk/'",
                "machine path in /tmp": "absolute path of a machine '/tmp/checkout/crates/a'"}
    ok = True
    for with_faults in (True, False):
        with tempfile.TemporaryDirectory(prefix="check-tree-") as d:
            files = dict(fixture)
            files.setdefault(".ci/run", "#!/bin/sh\n")
            if with_faults:
                for path, (_, line) in faults.items():
                    if line is None:  # the fault is the file cut short: its last line gone
                        files[path] = files[path].rsplit("# load average at end", 1)[0]
                    else:
                        files[path] = files.get(path, "") + line
            for path, body in files.items():
                os.makedirs(os.path.join(d, os.path.dirname(path)), exist_ok=True)
                with open(os.path.join(d, path), "w") as fh:
                    fh.write(body)
            subprocess.run(["git", "init", "-q", d], check=True)
            subprocess.run(["git", "-C", d, "add", "-A"], check=True)
            r = subprocess.run([sys.executable, os.path.abspath(__file__), "--root", d],
                               capture_output=True, text=True)
            if with_faults:
                for kind, msg in expected.items():
                    hit = msg in r.stdout
                    ok &= hit
                    print("self-test: %-22s %s" % (kind, "reported" if hit else "NOT REPORTED"))
                lines = [l for l in r.stdout.splitlines() if l]
                if len(lines) != len(expected) or r.returncode != 1:
                    ok = False
                    print("self-test: expected %d findings and exit 1, got exit %d:\n%s"
                          % (len(expected), r.returncode, r.stdout))
            else:
                clean = r.returncode == 0 and not r.stdout.strip()
                ok &= clean
                print("self-test: %-22s %s" % ("fixed tree", "passes" if clean else
                                               "FAILS:\n" + r.stdout))
    print("self-test: %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    findings = Tree(os.path.abspath(args.root)).run()
    for f in findings:
        print(f)
    if findings:
        print("check-tree: %d finding(s)" % len(findings), file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
