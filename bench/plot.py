"""Plots of a bench/run results file: requests/s and p99 per system (grouped bars, one
panel per app) and the chaos run over time. Prints the files it wrote.
    bench/.venv/bin/python bench/plot.py RESULTS.json OUT_DIR
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ORDER = ["node", "cluster", "pm2", "watt", "spindle", "spindle-standby", "spindle-node20"]
LABELS = {"node": "node", "cluster": "node cluster", "pm2": "PM2", "watt": "Watt",
          "spindle": "Spindle", "spindle-standby": "Spindle, standbyWorkers 1",
          "spindle-node20": "Spindle (Node 20)"}
COLORS = {"node": "#7f7f7f", "cluster": "#1f77b4", "pm2": "#2ca02c", "watt": "#9467bd",
          "spindle": "#d62728", "spindle-standby": "#ff7f0e", "spindle-node20": "#ff9896"}
NAMES = {"throughput": "bench-throughput.png", "p99": "bench-p99.png", "chaos": "bench-chaos.png"}


def subtitle(r, load=None):
    v = r["versions"]
    m = r["machine"]
    quick = "QUICK RUN (not for comparison) · " if r["settings"]["quick"] else ""
    return (f"{quick}{r['started'][:10]} · {m['nproc']} × {m['model']} · Node {v['node']} · "
            f"Spindle {v['spindle_rev']} · {load or 'wrk -t1 -c%d' % r['settings']['connections']}")


def bars(r, key, ylabel, title, path):
    rows = [t for t in r["throughput"] if t.get(key) is not None]
    apps = [a for a in ["hello", "cpu", "mixed"] if any(t["app"] == a for t in rows)]
    if not apps:
        return None
    systems = [s for s in ORDER if any(t["system"] == s for t in rows)]
    fig, axes = plt.subplots(1, len(apps), figsize=(max(9, 4.2 * len(apps)), 4.6), squeeze=False)
    width = 0.38
    for ax, app in zip(axes[0], apps):
        for i, system in enumerate(systems):
            for t in rows:
                if t["app"] != app or t["system"] != system:
                    continue
                w = t["workers"]
                x = i + (w - 1.5) * width if system != "node" else i
                b = ax.bar(x, t[key], width, color=COLORS[system], alpha=1.0 if w == 1 else 0.6,
                           hatch="" if w == 1 else "//", edgecolor="white")
                value = t[key]
                text = f"{value:,.0f}" if value >= 10 else f"{value:.1f}"
                ax.bar_label(b, labels=[text], fontsize=7, rotation=90, padding=2)
        ax.set_xticks(range(len(systems)))
        ax.set_xticklabels([LABELS[s] for s in systems], rotation=30, ha="right", fontsize=8)
        ax.set_title(app)
        ax.set_ylabel(ylabel)
        ax.margins(y=0.2)
        ax.grid(axis="y", alpha=0.3)
    handles = [plt.Rectangle((0, 0), 1, 1, color="#555", alpha=1.0),
               plt.Rectangle((0, 0), 1, 1, color="#555", alpha=0.6, hatch="//")]
    fig.legend(handles, ["1 worker", "2 workers"], loc="lower center", ncol=2, fontsize=8)
    fig.suptitle(f"{title}\n{subtitle(r)}", fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def chaos(r, path):
    runs = sorted(r["chaos"], key=lambda c: ORDER.index(c["system"]))
    if not runs:
        return None
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for c in runs:
        xs = [i + 0.5 for i in range(len(c["per_second"]))]
        top.plot(xs, [ok for ok, _ in c["per_second"]], label=LABELS[c["system"]],
                 color=COLORS[c["system"]], marker="o", markersize=3)
        bottom.plot(xs, [failed for _, failed in c["per_second"]], label=LABELS[c["system"]],
                    color=COLORS[c["system"]], marker="o", markersize=3)
    for t in runs[0]["crashes_at_s"]:
        for ax in (top, bottom):
            ax.axvline(t, color="#999", linestyle="--", linewidth=0.8)
    top.set_ylabel("requests ok per second")
    bottom.set_ylabel("failed requests per second")
    bottom.set_xlabel("seconds (dashed: a worker crashes)")
    top.legend(fontsize=8)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    s = r["settings"]["chaos"]
    fig.suptitle(f"hello, {s['workers']} workers, {s['connections']} keep-alive connections, "
                 f"a crash every {s['every_s']} s\n{subtitle(r, 'load: bench/lib/load.js')}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        r = json.load(f)
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    written = [
        bars(r, "rps", "requests/s", "Throughput (median of runs)", os.path.join(out, NAMES["throughput"])),
        bars(r, "p99_ms", "p99 latency, ms", "p99 latency (median of runs)", os.path.join(out, NAMES["p99"])),
        chaos(r, os.path.join(out, NAMES["chaos"])),
    ]
    for p in written:
        if p:
            print(p)


if __name__ == "__main__":
    main()
