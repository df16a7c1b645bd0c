"""CPU time of the distributed stack's processes, to say where an order's CPU goes.

`cpu_snapshot.py take RUN BASE_PORT FILE` records the CPU time (user + system) of every process
of the stack: each `microshop serve <service>` listening on BASE_PORT..BASE_PORT+19 (instances
of one service added up), the PostgreSQL backends serving the run's databases (named
`<RUN>_<service>`, by service), the Kafka broker (tansu or a JVM Kafka) and Redis. The load
generator is not counted: it has exited by the second snapshot.
`cpu_snapshot.py report BEFORE AFTER SECONDS REQUESTS` prints a Markdown table of what each used
between the two snapshots: share of one core, and CPU milliseconds per request.
Linux only (reads /proc); standard library only.
"""
import json
import os
import re
import sys

TICKS = os.sysconf("SC_CLK_TCK")


def label(cmdline, run, base_port):
    served = re.search(r"microshop serve (\w+) --\w+-port (\d+)", cmdline)
    if served:
        port = int(served.group(2))
        return served.group(1) if base_port <= port < base_port + 20 else None
    database = re.match(rf"postgres: .*?\b{re.escape(run)}_(\w+)", cmdline)
    if database:
        return f"PostgreSQL ({database.group(1)} db)"
    if "tansu" in cmdline or "kafka.Kafka" in cmdline:
        return "Kafka broker"
    if cmdline.startswith("redis-server") or "/redis-server" in cmdline:
        return "Redis"
    return None


def take(run, base_port):
    seen = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            if not cmdline:
                # PostgreSQL backends rewrite their title: the cmdline then holds it.
                continue
            name = label(cmdline, run, base_port)
            if name is None:
                continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # utime and stime are fields 14 and 15 of stat; the split starts at field 3.
            seen[pid] = [name, int(fields[11]) + int(fields[12])]
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue
    return seen


def report(before, after, seconds, requests):
    used = {}
    for pid, (name, ticks) in after.items():
        start = before.get(pid, [name, 0])[1]
        used[name] = used.get(name, 0) + (ticks - start) / TICKS
    total = sum(used.values())
    print("| process | share of one core | CPU ms per order |")
    print("|---|---|---|")
    for name, cpu in sorted(used.items(), key=lambda item: -item[1]):
        if cpu / seconds < 0.005:
            continue
        print(f"| {name} | {cpu / seconds:.0%} | {cpu * 1000 / requests:.2f} |")
    print(f"| **all of the above** | **{total / seconds:.0%}** (of 200 %) | **{total * 1000 / requests:.2f}** |")


if __name__ == "__main__":
    if sys.argv[1] == "take":
        with open(sys.argv[4], "w") as f:
            json.dump(take(sys.argv[2], int(sys.argv[3])), f)
    else:
        with open(sys.argv[2]) as f:
            before = json.load(f)
        with open(sys.argv[3]) as f:
            after = json.load(f)
        report(before, after, float(sys.argv[4]), max(1, int(sys.argv[5])))
