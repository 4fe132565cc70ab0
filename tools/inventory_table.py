"""The inventory report (the create function's `{"action": "report"}`) as a fixed-width text table, for people:
`make report` and `make demo` print it. Not part of the Lambda asset."""

from __future__ import annotations

from typing import Any


def render_table(inventory: dict[str, Any]) -> str:
    """The inventory as a fixed-width text table (one line per key, with the advisor's last recommendation), then
    the totals and when the advisor last ran."""
    header = ("user", "owner", "key", "status", "age", "last used", "stage", "next action", "due", "advice")
    lines: list[tuple[str, ...]] = [header]
    for user in inventory["users"]:
        keys = user["keys"] or [None]
        for key in keys:
            lines.append(
                (
                    user["user_name"],
                    user["owner"] or "-",
                    key["access_key_id"] if key else "-",
                    key["status"] if key else "-",
                    f"{key['age_days']}d" if key else "-",
                    (key["last_used"] or "never")[:10] if key else "-",
                    key["secret_stage"] if key else "-",
                    (key["next_action"] if key else None) or user["next_action"] or "-",
                    ((key["next_action_due"] if key else None) or user["next_action_due"] or "-")[:16],
                    (key.get("advice") or "not advised") if key else "-",
                )
            )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * width for width in widths))
    out.append("")
    totals = inventory["totals"].items()
    out.append("totals: " + ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in totals))
    out.append(f"advice: {inventory.get('advised_at') or 'the advisor has not run (or its memory expired)'}")
    return "\n".join(out)
