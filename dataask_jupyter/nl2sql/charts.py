"""Chart choice from a result's shape, written with Altair and returned as a Vega-Lite dict.

============================================  ===========================
shape                                         chart
============================================  ===========================
one row, numbers only                         metric card (text mark)
a time column + numbers                       line (one line per category)
a category + a ``*_share_pct`` column         stacked bar (shares of 100 %)
two categories + a number                     stacked bar
a category + a number                         bar, sorted by the number
two numbers (no category / time), >2 rows     scatter
anything else                                 no chart (the table says it)
============================================  ===========================

The specs only use Vega-Lite features shared by v5 and v6, and declare the v5 schema so
JupyterLab's ``application/vnd.vegalite.v5+json`` renderer shows them.
"""

from __future__ import annotations

import pyarrow as pa

from .values import column_roles, records

__all__ = ["RESULT_DATA", "VEGA_LITE_SCHEMA", "chart_kind", "chart_template", "choose_chart"]

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
MAX_POINTS = 5000
RESULT_DATA = "result"  # the named data source a widget's renderer fills with its query's rows


def _field(name: str) -> str:
    return name.replace("\\", "\\\\").replace(".", "\\.").replace("[", "\\[").replace("]", "\\]")


def chart_kind(table: pa.Table) -> str | None:
    """``metric``, ``line``, ``stacked_bar``, ``bar``, ``scatter`` or None for a result table."""
    if table is None or table.num_rows == 0 or table.num_columns == 0:
        return None
    roles = column_roles(table)
    nums = [c for c, r in roles.items() if r == "number"]
    cats = [c for c, r in roles.items() if r == "category"]
    times = [c for c, r in roles.items() if r == "time"]
    if table.num_rows == 1 and nums and not cats and not times:
        return "metric"
    if times and nums and len(cats) <= 1 and len(times) == 1:
        return "line"
    if len(cats) == 1 and any(c.endswith("share_pct") for c in nums) and not times:
        return "stacked_bar"
    if len(cats) == 2 and nums and not times:
        return "stacked_bar"
    if len(cats) == 1 and nums and not times:
        return "bar"
    if not cats and not times and len(nums) >= 2 and table.num_rows > 2:
        return "scatter"
    return None


def choose_chart(table: pa.Table, *, title: str | None = None) -> dict | None:
    """A Vega-Lite dict for ``table`` (see the module table), or None.

    Parameters
    ----------
    table
        The result.
    title
        Chart title (the question).
    """
    kind = chart_kind(table)
    if kind is None:
        return None
    import altair as alt  # imported on first use: it takes a while

    roles = column_roles(table)
    nums = [c for c, r in roles.items() if r == "number"]
    cats = [c for c, r in roles.items() if r == "category"]
    times = [c for c, r in roles.items() if r == "time"]
    data = alt.Data(values=records(table, MAX_POINTS))
    tooltip = [alt.Tooltip(_field(c), type=_vl_type(roles[c], c)) for c in roles]
    base = alt.Chart(data, title=title[:120] if title else alt.Undefined)
    if kind == "metric":
        if len(nums) == 1:
            chart = base.mark_text(fontSize=40, fontWeight="bold").encode(
                text=alt.Text(_field(nums[0]), type="quantitative", format=",.4~f"))
        else:
            chart = base.transform_fold([_field(c) for c in nums], as_=["measure", "value"]).mark_text(
                fontSize=20, align="left").encode(
                y=alt.Y("measure:N", title=None, sort=None),
                text=alt.Text("value:Q", format=",.4~f"))
    elif kind == "line":
        t, y = times[0], nums[0]
        x_type = "ordinal" if roles[t] == "time" and table.schema.field(t).type in (pa.int32(), pa.int64()) \
            else "temporal"
        enc = {"x": alt.X(_field(t), type=x_type, title=t), "y": alt.Y(_field(y), type="quantitative", title=y),
               "tooltip": tooltip}
        if cats:
            enc["color"] = alt.Color(_field(cats[0]), type="nominal", title=cats[0])
        chart = base.mark_line(point=True).encode(**enc)
    elif kind == "stacked_bar" and len(cats) == 1:
        share = next(c for c in nums if c.endswith("share_pct"))
        chart = base.mark_bar().encode(
            x=alt.X(_field(share), type="quantitative", stack="normalize", title="share",
                    axis=alt.Axis(format="%")),
            color=alt.Color(_field(cats[0]), type="nominal", title=cats[0]), tooltip=tooltip)
    elif kind == "stacked_bar":
        chart = base.mark_bar().encode(
            x=alt.X(_field(cats[0]), type="nominal", title=cats[0], sort="-y"),
            y=alt.Y(_field(nums[0]), type="quantitative", title=nums[0]),
            color=alt.Color(_field(cats[1]), type="nominal", title=cats[1]), tooltip=tooltip)
    elif kind == "bar":
        chart = base.mark_bar().encode(
            y=alt.Y(_field(cats[0]), type="nominal", title=cats[0], sort="-x"),
            x=alt.X(_field(nums[0]), type="quantitative", title=nums[0]), tooltip=tooltip)
    else:
        chart = base.mark_point().encode(
            x=alt.X(_field(nums[0]), type="quantitative", title=nums[0]),
            y=alt.Y(_field(nums[1]), type="quantitative", title=nums[1]), tooltip=tooltip)
    spec = chart.to_dict(validate=False)
    spec["$schema"] = VEGA_LITE_SCHEMA
    spec.pop("config", None)
    spec["usermeta"] = {"dataask": {"chart": kind}}
    return spec


def _vl_type(role: str, name: str) -> str:
    return {"number": "quantitative", "time": "temporal" if name.lower() != "year" else "ordinal"}.get(role, "nominal")


def chart_template(spec: dict | None) -> dict | None:
    """``spec`` without its data: inline values become the named data source ``result``.

    What the metadata store keeps with a conversation turn and what a pinned widget holds
    (the widget's query supplies the rows when it runs), so no row data is stored.
    """
    if not spec:
        return None
    out = {k: v for k, v in spec.items() if k not in ("data", "datasets")}
    out["data"] = {"name": RESULT_DATA}
    return out
