"""`timeline.png`: the life of every access key of a demo run, one bar per key over time, grouped by user
(drawn with matplotlib from the key lives `timeline.key_spans` builds)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from local_account.timeline import KeySpan, shorten, utc

# Colours and markers of the picture, chosen to read in grey print too (active dark, inactive light).
ACTIVE_COLOUR = "#2e7d32"
INACTIVE_COLOUR = "#f4b942"
OUT_OF_SCOPE_COLOUR = "#9e9e9e"
POSTPONED_HATCH = "////"


def render_png(
    path: Path,
    spans: Sequence[KeySpan],
    *,
    start: datetime,
    end: datetime,
    title: str,
    expiries: Mapping[str, datetime] | None = None,
    width_px: int = 1400,
    height_px: int = 700,
    bands: Sequence[tuple[str, Sequence[str]]] | None = None,
) -> None:
    """Each key a bar over time, grouped by user: active, inactive, gone; markers for each lifecycle event.
    `bands`: (label, user names) per account of an organization, drawn as shaded bands in that order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    start, end = utc(start), utc(end)
    expiries = expiries or {}
    users: list[str] = []
    for span in sorted(spans, key=lambda s: (not s.managed, utc(s.created))):
        if span.user_name not in users:
            users.append(span.user_name)
    if bands:
        users = [user for _, band_users in bands for user in users if user in band_users]
    by_creation = sorted(spans, key=lambda s: utc(s.created))
    ordered = [span for user in users for span in by_creation if span.user_name == user]

    dpi = 100
    fig, ax = plt.subplots(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    half = 0.3
    rows = len(ordered)
    y_of = {id(span): rows - 1 - index for index, span in enumerate(ordered)}  # first user at the top

    def x(value: datetime) -> float:
        return float(mdates.date2num(min(max(utc(value), start), end)))

    def bar(begin: float, stop: float, y: float, **style: Any) -> None:
        ax.broken_barh([(begin, max(stop - begin, 0.0))], (y - half, 2 * half), **style)

    def mark(at: float, y: float, **style: Any) -> None:
        ax.plot(at, y, linestyle="none", zorder=3, clip_on=False, **style)

    for span in ordered:
        y = y_of[id(span)]
        begin, stop = x(span.created), x(span.ended or end)
        if not span.managed:
            bar(begin, stop, y, facecolors=OUT_OF_SCOPE_COLOUR)
            continue
        switch = x(span.deactivated) if span.deactivated else stop
        bar(begin, switch, y, facecolors=ACTIVE_COLOUR)
        if span.postponed_from is not None:
            bar(x(span.postponed_from), switch, y, facecolors="none", edgecolors="white", hatch=POSTPONED_HATCH, lw=0)
        if span.deactivated:
            bar(switch, stop, y, facecolors=INACTIVE_COLOUR)
            mark(switch, y, **_MARKERS["deactivated"])
        mark(begin, y, **_MARKERS["rotation" if span.rotation else "created"])
        if span.deleted:
            mark(stop, y, **_MARKERS["key deleted"])
        elif span.user_deleted:
            mark(stop, y, **_MARKERS["user deleted"])

    # A key id alone says little: each group of rows carries its user's name, with a rule between groups.
    ax.set_yticks([y_of[id(s)] for s in ordered])
    ax.set_yticklabels([s.access_key_id for s in ordered], fontsize=7.5, family="monospace")
    ax.set_ylim(-0.6, rows - 0.4)
    for user in users:
        ys = [y_of[id(s)] for s in ordered if s.user_name == user]
        managed = any(s.managed for s in ordered if s.user_name == user)
        shown = user.split("/", 1)[-1] if bands else user  # in a band, the band names the account
        ax.annotate(
            shown if managed else f"{shown}\n(out of scope)",
            xy=(0, (min(ys) + max(ys)) / 2),
            xycoords=("axes fraction", "data"),
            xytext=(-112, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            fontsize=9,
            fontweight="bold",
        )
        ax.axhline(min(ys) - 0.5, color="#bbbbbb", linewidth=0.8)
        gone = [s for s in ordered if s.user_name == user and s.user_deleted is not None]
        if gone:
            last = min(gone, key=lambda s: y_of[id(s)])
            assert last.user_deleted is not None
            ax.annotate(
                _why_deleted(last.user_deleted_reason),
                xy=(x(last.user_deleted), y_of[id(last)]),
                xytext=(9, 0),
                textcoords="offset points",
                va="center",
                fontsize=7.5,
                color="#333333",
            )
        if user in expiries and start <= utc(expiries[user]) <= end:
            at = float(mdates.date2num(utc(expiries[user])))
            ax.vlines(at, min(ys) - 0.45, max(ys) + 0.45, colors="#555555", linestyles="dashed", linewidth=1.2)

    for index, (label, band_users) in enumerate(bands or ()):
        ys = [y_of[id(s)] for s in ordered if s.user_name in band_users]
        if not ys:
            continue
        ax.axhspan(min(ys) - 0.5, max(ys) + 0.5, color="#eef3fb" if index % 2 == 0 else "#fbf6ee", zorder=0)
        ax.axhline(min(ys) - 0.5, color="#555555", linewidth=1.6)
        ax.annotate(
            label,
            xy=(1, max(ys) + 0.45),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 0),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=8.5,
            fontstyle="italic",
            color="#333333",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
            zorder=4,
        )

    margin = (end - start).days * 0.01
    ax.set_xlim(float(mdates.date2num(start)) - margin, float(mdates.date2num(end)) + margin)
    locator = mdates.AutoDateLocator(minticks=6, maxticks=16)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.set_title(title, fontsize=12)

    legend = [
        Patch(facecolor=ACTIVE_COLOUR, label="active"),
        Patch(
            facecolor=ACTIVE_COLOUR, hatch=POSTPONED_HATCH, edgecolor="white", label="active, deactivation postponed"
        ),
        Patch(facecolor=INACTIVE_COLOUR, label="inactive"),
        Patch(facecolor=OUT_OF_SCOPE_COLOUR, label="outside the managed scope"),
        Line2D([], [], color="#555555", linestyle="dashed", label="user expires (expires-at)"),
    ] + [Line2D([], [], linestyle="none", label=_MARKER_LABELS[name], **style) for name, style in _MARKERS.items()]
    ax.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=5, fontsize=8, frameon=False)
    fig.subplots_adjust(left=0.235, right=0.985, top=0.94, bottom=0.19)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def _why_deleted(reason: str | None) -> str:
    """A few words for the picture from the cleanup's reason ("expired at <date>", "no key used for 90 days (...)")."""
    if not reason:
        return "deleted"
    words = reason.split(" (")[0]
    return "expired" if words.startswith("expired") else shorten(words, 28)


_MARKERS: dict[str, dict[str, Any]] = {
    "created": {"marker": "o", "color": "#1565c0", "markersize": 7},
    "rotation": {"marker": "^", "color": "#1565c0", "markersize": 9},
    "deactivated": {"marker": "v", "color": "#b35900", "markersize": 9},
    "key deleted": {"marker": "x", "color": "#c62828", "markersize": 9, "markeredgewidth": 2.5},
    "user deleted": {"marker": "X", "color": "black", "markersize": 11},
}
_MARKER_LABELS = {
    "created": "first key created",
    "rotation": "rotation (new key)",
    "deactivated": "deactivated",
    "key deleted": "key deleted",
    "user deleted": "user deleted (with its keys)",
}
