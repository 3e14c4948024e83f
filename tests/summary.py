#!/usr/bin/env python3
"""The last lines of `make test`, from meson's own records of the runs.

    tests/summary.py BUILD:SUITE[,SUITE...] ...

For each build directory, the tests of the named suites (from
BUILD/meson-info/intro-tests.json) are looked up in the log of the last
`meson test` there (BUILD/meson-logs/testlog.json). A TAP test counts each
of its cases (a SKIP as skipped, a "not ok" as failed, a TODO as skipped);
a TAP test that meson failed without a failing case (it crashed, timed out
or stopped short) adds one failure; any other test counts once. A test of a
requested suite that is missing from the log, or a missing log, is a
failure: nothing drops out unnoticed.

Prints the failures (with up to 12 of each failed case's diagnostic lines,
or of a failed cmocka or sanitizer run's own error lines) and the skips
with their reasons, then one line:
"N passed, M failed" (", K skipped" when K > 0). Exits 1 if M > 0.
"""
import json
import os
import re
import sys

TEST_RE = re.compile(r'^(not ok|ok)\b\s*(?:[0-9]+\s*)?(?:-\s*)?([^#]*)(?:#\s*(.*))?$')
PLAN_RE = re.compile(r'^1\.\.[0-9]+')
MAX_WHY = 12
BAD = {'FAIL', 'ERROR', 'TIMEOUT', 'INTERRUPT', 'UNEXPECTEDPASS'}
# What a failed non-TAP run says about why: cmocka's error, line and failed
# case lines (not its closing count), a sanitizer's report and summary.
WHY_RE = re.compile(r'^\[\s*(ERROR|LINE)\s*\]|^\[\s*FAILED\s*\]\s+[A-Za-z_]'
                    r'|^==[0-9]+==ERROR:|^SUMMARY: ')


def load_tests(build):
    with open(os.path.join(build, 'meson-info', 'intro-tests.json')) as f:
        return json.load(f)


def load_log(build):
    path = os.path.join(build, 'meson-logs', 'testlog.json')
    runs = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                r = json.loads(line)
                runs[r['name']] = r
    return runs


def count_tap(stdout):
    """(passed, failed, skipped, failed cases, skipped lines) of a TAP stream.

    A failed case carries the diagnostic lines ("# ...") that follow it, so
    the tail of a CI log says why, not only what."""
    p = f = s = 0
    bad, skips = [], []
    collecting = None
    for line in stdout.splitlines():
        m = TEST_RE.match(line.rstrip())
        if not m:
            if collecting is not None and line.startswith('#') and len(collecting) < MAX_WHY:
                collecting.append(line[1:].strip())
            elif not line.startswith('#'):
                collecting = None
            continue
        collecting = None
        status, desc, directive = m.group(1), m.group(2).strip(), (m.group(3) or '').strip()
        word = directive.split(' ', 1)[0].upper()
        if word.startswith('SKIP'):
            s += 1
            reason = directive[4:].strip() if len(directive) > 4 else ''
            skips.append(f'{desc}: {reason}' if reason else desc)
        elif word == 'TODO':
            s += 1
            skips.append(f'{desc}: TODO {directive[4:].strip()}')
        elif status == 'ok':
            p += 1
        else:
            f += 1
            why = directive and [directive] or []
            bad.append((desc, why))
            collecting = why
    return p, f, s, bad, skips


def failure_lines(r):
    """A failed run's own account of why, from its stdout and stderr."""
    out = (r.get('stdout') or '') + '\n' + (r.get('stderr') or '')
    why = []
    for line in out.splitlines():
        line = line.strip()
        # cmocka names a failed case twice: where it fails and in its closing list.
        if WHY_RE.match(line) and line not in why:
            why.append(line)
    return why[:MAX_WHY]


def main(argv):
    passed = failed = skipped = 0
    failures, skips = [], []
    for arg in argv:
        build, _, suites = arg.partition(':')
        want = set(x for x in suites.split(',') if x)
        label = os.path.basename(os.path.normpath(build))
        try:
            tests = load_tests(build)
        except OSError as e:
            failed += 1
            failures.append(f'{label}: not configured ({e.strerror}: {e.filename})')
            continue
        try:
            runs = load_log(build)
        except OSError:
            runs = None
        for t in tests:
            suites_of = set(s.split(':', 1)[-1] for s in t['suite'])
            if want and not (suites_of & want):
                continue
            name = t['name']
            where = f'{label}/{name}'
            # meson logs a test as "project:first-suite / name".
            key = f"{t['suite'][0]} / {name}" if t['suite'] else name
            r = (runs.get(key) or runs.get(name)) if runs is not None else None
            if r is None:
                failed += 1
                why = 'no meson test log' if runs is None else 'did not run'
                failures.append(f'{where}: {why}')
                continue
            result = r['result']
            if t.get('protocol') == 'tap':
                p, f, s, bad, sk = count_tap(r.get('stdout') or '')
                passed += p
                failed += f
                skipped += s
                for desc, why in bad:
                    failures.append(f'{where}: {desc}' + ''.join(f'\n      {w}' for w in why))
                skips += [f'{where}: {x}' for x in sk]
                if result in BAD and f == 0:
                    failed += 1
                    rc = r.get('returncode')
                    failures.append(f'{where}: {result} (exit status {rc}) without a failed case')
                elif result == 'SKIP' and p + f + s == 0:
                    skipped += 1
                    skips.append(f'{where}: no cases')
            elif result in ('OK', 'EXPECTEDFAIL'):
                passed += 1
            elif result == 'SKIP':
                skipped += 1
                skips.append(f'{where}: skipped')
            else:
                failed += 1
                failures.append(f'{where}: {result}' +
                                ''.join(f'\n      {w}' for w in failure_lines(r)))
    if skips:
        print(f'SKIPPED ({len(skips)}; not failures, and not passes either):')
        for x in skips:
            print(f'  {x}')
    if failures:
        print(f'FAILED ({len(failures)}):')
        for x in failures:
            print(f'  {x}')
    line = f'{passed} passed, {failed} failed'
    if skipped:
        line += f', {skipped} skipped'
    print(line)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
