#!/usr/bin/env python3
"""Runs the workspace's test binaries side by side: the body of scripts/test.sh.

`cargo test` runs its test binaries one after another, and most of ours spend their time
waiting (for browsers, for timers, for servers that sleep by design), so on a 2-core machine the
sequential run took 13 minutes of which the CPUs were busy for a fraction. This script builds
every test binary once (`cargo test --no-run`), then runs them (each running up to TEST_THREADS of its
tests at once, default 16, but for the CPU-bound browser binaries; each in its package's directory
as cargo does), plus the doctests (`cargo test --doc`) as one more job:
the browser and CPU-heavy binaries one by one and alone, then the rest up to JOBS at once (see
HEAVY, TIMING and WAITING below: on 2 cores, many tests time things in milliseconds and fail
when a heavy binary runs beside them). Every test of every binary runs; nothing is filtered or
skipped here.

Each crate's `tests/suite` binary (its integration tests, one module per concern, in one binary
to save its links and compiles) runs as one job per module: the binary with the module's tests
named exactly (`--exact NAME...`), keyed and classed `crate/module` as when each module was a
binary of its own, and failed when it ran fewer tests than it named.

Each binary's whole output is printed when it ends, in one piece (never interleaved), then a
table of every binary's wall and CPU seconds, and the failures again at the end. Exit status:
0 when every binary passed, 1 when any failed or was killed, 2 when the build failed.

    scripts/run-tests.py            # JOBS=1 by default: one binary at a time, as cargo test does,
                                    # but those that mostly wait, WAITING_JOBS (3) at once
    JOBS=4 scripts/run-tests.py     # heavy ones alone, the rest up to 4 at once
    WAITING_JOBS=1 scripts/run-tests.py   # strictly one binary at a time
    scripts/run-tests.py --list     # each binary's key and how it shares the machine, no run

Why one at a time by default: on the 2-core machine this project runs CI on, with one test per
core in every binary (before TEST_THREADS), JOBS=4 took the test binaries from 13 to about 7.5 minutes, but in each of its last three full runs one binary of 70
failed on timing (a different one each time: target_down `gone::ws`, http2_client
`late_settings`, abuse_http2_streams `..._window_stays_shut_...::h2c`), each passing alone.
A test command that fails one run in two is worse than a slow one; JOBS=4 is for a machine with
more cores, or for a quick local look. The WAITING binaries are the exception (WAITING_JOBS,
default 3, at once, and only beside each other): together they use under one core (about 20
CPU-s in 75 s of wall one at a time), and none of them failed beside TIMING ones.

Each binary is killed after TEST_BINARY_TIMEOUT seconds (default 900), so a hung test ends the
run with a name instead of a CI timeout. Processes that share the machine: the network-emulation
tests name their namespaces by pid (crates/netem/src/namespace.rs), every server binds port 0,
every browser gets a fresh profile directory, so binaries running at once cannot collide.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

# How a binary may share the machine, from what it did when runs were side by side on this 2-core
# machine (CPU seconds per wall second, and which tests failed when others ran beside them):
# - HEAVY: real browsers, bursts of CPU (agreement used 200 CPU-s in 154 s), or a measured rate
#   (netem's goodput within 10% of the shaped bandwidth fell to 69% beside two others), or a
#   server-side count of streams open at once that a late scheduler reading made 4 of 3
#   (loadgen's http2_client `late_settings`, beside two others; the count is now read up to the
#   point's end only, Seen::max_open_before, and the binary not yet tried beside others since),
#   or a test that dials a port it
#   freed (loadgen's target_down `gone`, bench's failures `unreachable_target`): beside others, a
#   server of another binary can bind that port meanwhile (`gone::ws` stopped 6.5 s late once,
#   its client lag 4 ms). Each runs alone:
#   beside one, even binaries that mostly sleep failed (a queue order, a reconnect counted, an
#   emulated point that had not opened its sixth stream in time) and so did the agreement itself.
# - TIMING: light, but they time things in milliseconds (token bursts, goodput, a 50 ms RTT,
#   deliveries within a grace, a probe's p99). Two at a time.
# - everything named in WAITING: mostly asleep on timers and servers (loadgen `answers`: 3 CPU-s in
#   53 s), never failed beside TIMING ones: any number, up to JOBS in all.
# A binary (or suite module) named nowhere counts as HEAVY: a new one runs alone until someone
# measures it.
HEAVY_FIRST = [  # in this order, the longest first
    "browser/agreement", "browser/isolation", "bench/cli", "netem/emulator",
    "sse-server/abuse_memory", "loadgen/http2_client", "loadgen/target_down", "bench/failures",
    "browser/launch",
]
TIMING = {
    "loadgen/loss_proof", "loadgen/answer_buffering", "sse-server/faults", "sse-server/abuse",
    "sse-server/listeners", "loadgen/slot_reuse",
    "bench/websocket", "sse-server/abuse_websocket", "sse-server/abuse_channel_flood",
    "loadgen/websocket", "sse-server/abuse_replay", "sse-server/abuse_replay_memory",
    "sse-server/gate_faults", "sse-server/abuse_http2_streams",
}
WAITING = {
    "loadgen/answers", "loadgen/answer_framings", "loadgen/post_timing",
    "loadgen/queue_order", "loadgen/browser_pool", "loadgen/hostile_streams",
    "loadgen/http2_refusals", "loadgen/http2_slots", "loadgen/http3_client", "loadgen/replays",
    "loadgen/server_delay", "loadgen/probe", "loadgen/tls_trust", "loadgen/loadgen",
    "sse-server/budget", "sse-server/events", "sse-server/messages", "sse-server/routes",
    "sse-server/timeouts", "sse-server/websocket", "sse-server/answers", "sse-server/h3",
    "sse-server/http2_timeouts", "sse-server/abuse_big_ticks", "sse-server/abuse_channels", "sse-server/sse_server",
    "server/server", "server/cli",
    "bench/bench", "bench/answer_targets", "bench/answers", "bench/gate",
    "report/report", "report/compare", "report/csv_contract", "report/every_word", "report/plot",
    "report/thresholds", "vocab/vocab", "sse-wire/sse_wire", "sse-wire/fuzz_regressions",
    "test-support/test_support", "test-support/arms", "macros/test_macros", "netem/netem",
    "browser/browser", "doctests",
}
TIMING_AT_ONCE = 2
# libtest runs as many of a binary's tests at once as there are cores (2 here), and most of ours
# wait on timers and servers: loadgen's `answers` took 53 s that way and 10 s with 16 at once,
# for the same 3 CPU-s. Every binary runs TEST_THREADS tests at once (default 16) but these,
# which keep fewer: they are busy on the CPU (real browsers; the agreement used 147 CPU-s in
# 137 s in one run), so many at once only makes their points late. Measured on the 2-core
# machine, each binary alone at 16: three full runs, 196 to 203 s for the 67 others (577 s at
# libtest's default), and one failure, http2_client `late_settings`, a count the scripted server
# read late, since fixed in the test server (Seen::max_open_before).
# They are not busy all the time, though (the agreement: about 110 CPU-s in 114 s at two at once),
# so two of them run three tests at once: measured alone on the 2-core machine, the agreement
# took 114 s at two (libtest's default) and 95 to 99 s at three, 5 runs, all passing (at four:
# 92 and 96 s, and one of the two runs failed, Firefox on wss across the 50 ms network short of
# a stream); the isolation 41 s at two, 35 and 36 s at three.
CPU_BOUND = {"browser/agreement": 3, "browser/isolation": 3, "browser/launch": None}


def kind(key):
    if key in WAITING:
        return "waiting"
    if key in TIMING:
        return "timing"
    return "heavy"


def target_dir():
    """Cargo's target directory (CARGO_TARGET_DIR, or target/ at the workspace's root)."""
    return os.environ.get("CARGO_TARGET_DIR") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "target")


# Every cargo run here builds the workspace without its members' default features. Only one
# member has any: crates/server's `jemalloc` (its allocator), whose C build took 127 s of one
# core in a cold build (cargo --timings), a quarter of the whole build's CPU on 2 cores, for
# nothing a test checks: the tests of memory given back run the sse-server library in-process,
# and the binary's tests (its flags, serving, SIGTERM) do not depend on its allocator. The
# binary the scripts and users build (`cargo build --release --bin server`) keeps jemalloc.
CARGO_TEST = ["cargo", "test", "--workspace", "--locked", "--no-default-features"]


def build():
    """Builds every test binary; returns [(label, executable, cwd)]."""
    cmd = [*CARGO_TEST, "--no-run", "--message-format=json-render-diagnostics"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    binaries = []
    for line in proc.stdout:
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("reason") != "compiler-artifact" or not msg.get("executable"):
            continue
        if not msg.get("profile", {}).get("test"):
            continue
        target = msg["target"]
        package = msg["package_id"]
        manifest = msg.get("manifest_path") or ""
        cwd = os.path.dirname(manifest) if manifest else os.getcwd()
        kind = target["kind"][0]
        crate = os.path.basename(cwd)
        label = f"{crate} {kind} {target['name']}" if kind != "lib" else f"{crate} lib"
        binaries.append((label, f"{crate}/{target['name']}", msg["executable"], cwd, package))
    if proc.wait() != 0:
        print("error: building the test binaries failed (the compiler's messages are above)",
              file=sys.stderr)
        sys.exit(2)
    # bench's tests run the `server` binary (target/debug/server): the build above made it, for
    # crates/server's own tests, beside everything else. (A separate `cargo build --bin server`
    # would compile every dependency again: without the dev-dependencies' features, such as
    # tokio's test-util, cargo's feature sets differ from the tests'.)
    server = os.path.join(target_dir(), "debug", "server")
    if not os.path.exists(server):
        print(f"error: the build made no {server} (crates/server/tests should have)",
              file=sys.stderr)
        sys.exit(2)
    return binaries


def loader_env():
    """This environment, with the toolchain's libraries on the loader's path: cargo test puts them
    there for binaries that link them dynamically (a proc-macro crate's tests link libstd-*.so)."""
    def rustc(*args):
        return subprocess.run(["rustc", *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    sysroot, host = rustc("--print", "sysroot"), rustc("--print", "host-tuple")
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in [os.path.join(sysroot, "lib", "rustlib", host, "lib"),
                    env.get("LD_LIBRARY_PATH", "")] if p)
    return env


def expand_suites(binaries, env):
    """[(label, key, command, cwd, expected tests or None)]: every binary as one job, but each
    crate's `suite` binary (tests/suite/main.rs, one module per concern), which is one job per
    module: the binary with that module's tests named exactly (`--exact NAME...`), keyed and
    classed as `crate/module`, as when each module was a binary of its own. A suite test outside
    a module is an error, and each job's count of tests run is checked against its names."""
    jobs = []
    for label, key, exe, cwd, _package in binaries:
        crate, target = key.split("/", 1)
        if target != "suite":
            jobs.append((label, key, [exe], cwd, None))
            continue
        listed = subprocess.run([exe, "--list", "--format", "terse"], cwd=cwd, env=env,
                                capture_output=True, text=True)
        if listed.returncode != 0:
            print(f"error: listing the tests of {label} failed:\n{listed.stderr}", file=sys.stderr)
            sys.exit(2)
        modules = {}
        for line in listed.stdout.splitlines():
            if not line.endswith(": test"):
                continue
            name = line[: -len(": test")]
            module, sep, _rest = name.partition("::")
            if not sep:
                print(f"error: {label}: the test `{name}` is outside a module (every suite test "
                      "lives in the module of its concern)", file=sys.stderr)
                sys.exit(2)
            modules.setdefault(module, []).append(name)
        for module, names in modules.items():
            jobs.append((f"{crate} suite {module}", f"{crate}/{module}",
                         [exe, "--exact", *names], cwd, len(names)))
    return jobs


def tests_run(text):
    """The tests libtest ran (passed, failed or ignored) by its `test result:` line, or None."""
    for line in reversed(text.splitlines()):
        m = re.match(r"test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored", line)
        if m:
            return sum(int(g) for g in m.groups())
    return None


def order(binaries):
    """HEAVY ones first (the longest first), then TIMING, then WAITING."""
    def rank(entry):
        key = entry[1]
        if key in HEAVY_FIRST:
            return (0, HEAVY_FIRST.index(key))
        return ({"heavy": 0, "timing": 1, "waiting": 2}[kind(key)], len(HEAVY_FIRST))
    return sorted(binaries, key=rank)


def main():
    jobs = int(os.environ.get("JOBS", "1"))
    timeout = float(os.environ.get("TEST_BINARY_TIMEOUT", "900"))
    if jobs < 1:
        print("error: JOBS must be at least 1", file=sys.stderr)
        return 2
    env = loader_env()
    binaries = order(expand_suites(build(), env))
    if sys.argv[1:] == ["--list"]:
        for label, key, *_ in binaries:
            how = ("TEST_THREADS" if key not in CPU_BOUND
                   else CPU_BOUND[key] or "libtest's default")
            print(f"{kind(key):8} {key:40} tests at once: {how}")
        return 0
    waiting_jobs = int(os.environ.get("WAITING_JOBS", "3"))
    if waiting_jobs < 1:
        print("error: WAITING_JOBS must be at least 1", file=sys.stderr)
        return 2
    threads = int(os.environ.get("TEST_THREADS", "16"))
    if threads < 1:
        print("error: TEST_THREADS must be at least 1", file=sys.stderr)
        return 2
    def argv(name, command):
        if name not in CPU_BOUND:
            return [*command, f"--test-threads={threads}"]
        return [*command, f"--test-threads={CPU_BOUND[name]}"] if CPU_BOUND[name] else command
    queue = [(label, name, argv(name, command), cwd, expected)
             for label, name, command, cwd, expected in binaries]
    # The doctests need rustdoc, so cargo runs them; one job like any binary.
    queue.append(("doctests", "doctests", [*CARGO_TEST, "--doc"], os.getcwd(), None))

    started = time.monotonic()
    running = {}  # pid -> (label, name, proc, output file, start, tests expected or None)
    killed = set()
    results = []  # (label, wall, cpu, status)
    failed = []
    print(f"running {len(queue)} test jobs (a binary each, but one per module of a suite binary), "
          f"up to {jobs} at a time (those that mostly wait: "
          f"up to {max(jobs, waiting_jobs)}, among themselves), each with up to {threads} tests "
          f"at once (the browser binaries: fewer, CPU_BOUND)", flush=True)
    while queue or running:
        while True:
            kinds = [kind(name) for _l, name, *_ in running.values()]

            def admissible(key):
                k = kind(key)
                if k == "heavy":
                    return not kinds
                if "heavy" in kinds:
                    return False
                if k == "waiting" and all(x == "waiting" for x in kinds):
                    return len(kinds) < max(jobs, waiting_jobs)
                if len(kinds) >= jobs:
                    return False
                return k != "timing" or kinds.count("timing") < TIMING_AT_ONCE
            pick = next((i for i, entry in enumerate(queue) if admissible(entry[1])), None)
            if pick is None:
                break
            label, name, argv, cwd, expected = queue.pop(pick)
            out = tempfile.TemporaryFile(mode="w+")
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            running[proc.pid] = (label, name, proc, out, time.monotonic(), expected)
        pid, status, usage = os.wait4(-1, os.WNOHANG)
        if pid == 0:
            now = time.monotonic()
            for label, _name, proc, _out, start, _e in list(running.values()):
                if now - start > timeout and proc.pid not in killed:
                    killed.add(proc.pid)
                    os.killpg(proc.pid, 9)
                    print(f"error: {label} ran over {timeout:.0f} s and was killed", flush=True)
            time.sleep(0.05)
            continue
        if pid not in running:
            continue
        label, _name, proc, out, start, expected = running.pop(pid)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - start
        cpu = usage.ru_utime + usage.ru_stime
        out.seek(0)
        text = out.read()
        out.close()
        verdict = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        ran = tests_run(text)
        if proc.returncode == 0 and expected is not None and ran != expected:
            # A suite module's job names its tests exactly: fewer run means some were lost.
            proc.returncode = 1
            verdict = f"FAILED (ran {ran} tests of the {expected} it named)"
        print(f"\n---- {label}: {verdict} in {wall:.1f} s ({cpu:.1f} CPU-s)", flush=True)
        sys.stdout.write(text)
        sys.stdout.flush()
        results.append((label, wall, cpu, verdict))
        if proc.returncode != 0:
            failed.append((label, text))

    total = time.monotonic() - started
    cpu_all = sum(r[2] for r in results)
    # CPU: the binary's own and that of the children it waited for (browsers, servers).
    print("\n==== test binaries (wall s, CPU s, verdict), slowest first")
    for label, wall, cpu, verdict in sorted(results, key=lambda r: -r[1]):
        print(f"{wall:8.1f} {cpu:8.1f}  {label}: {verdict}")
    print(f"==== {len(results)} test jobs in {total:.0f} s wall, {cpu_all:.0f} CPU-s, {jobs} at a time")
    if failed:
        for label, text in failed:
            tail = "\n".join(text.splitlines()[-60:])
            print(f"\n==== FAILED: {label} (its last 60 lines)\n{tail}")
        print(f"\nerror: {len(failed)} of {len(results)} test jobs failed: "
              + ", ".join(label for label, _ in failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
