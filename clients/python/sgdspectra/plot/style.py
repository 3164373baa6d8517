"""Figure plumbing shared by every figure: new figures, series styles, legends that fit, the t
axis, and the record each figure carries for reports and tests.

Uses matplotlib's object API with the Agg canvas: no pyplot, no global backend or rcParams
change, no display needed.

- Styles: series i gets colour i mod 10 (tab10), line style (i div 10) mod 4 and marker
  (i div 40) mod 7, so 280 series look pairwise different (`series_style`).
- Legends: at most `max_entries` entries (default MAX_LEGEND): the first ones named, the rest
  grouped into one "+ N more" entry (`fitted_legend`); placed beside the axes.
- The t axis (`time_scale`): a log-spaced schedule (the resolved spec's schedule.kind
  LOG_SPACED_TIME, the default) gets a symlog axis whose linear part is [0, t_first], so that
  t = 0, a snapshot, is drawn and the log-spaced times spread evenly; EVERY_STEPS gets a linear
  axis. Without a spec the times decide: symlog when the positive times are roughly geometric
  and span more than a factor 10.
- Each figure carries `figure.sgdspectra`: a dict with name (file stem), section, caption and
  `overlays` (name -> value drawn, for tests and the report's prediction table).
"""

import math

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf")
LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
MAX_LEGEND = 8
TIME_LABEL = "t = SGD steps x step size"
BAND_COLOR = "#8c8c8c"
THRESHOLD_COLOR = "#d62728"
THEORY_COLOR = "#000000"
SUCCESS_COLOR = "#2ca02c"
FAILURE_COLOR = "#d62728"


def series_style(i):
    """Matplotlib line keyword arguments of series i (distinct for i < 280)."""
    return {"color": COLORS[i % len(COLORS)],
            "linestyle": LINESTYLES[(i // len(COLORS)) % len(LINESTYLES)],
            "marker": MARKERS[(i // (len(COLORS) * len(LINESTYLES))) % len(MARKERS)]}


def new_figure(name, section, caption, width=7.0, height=4.2, nrows=1, ncols=1, **subplots):
    """A Figure on an Agg canvas with an nrows x ncols grid of axes (always a 2-D array) and
    its `sgdspectra` record."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = Figure(figsize=(width, height), constrained_layout=True)
    FigureCanvasAgg(figure)
    axes = figure.subplots(nrows, ncols, squeeze=False, **subplots)
    figure.sgdspectra = {"name": name, "section": section, "caption": caption, "overlays": {}}
    return figure, axes


def record_overlay(figure, name, value):
    figure.sgdspectra["overlays"][name] = value


def fitted_legend(ax, handles, labels, max_entries=MAX_LEGEND, fixed=(), title=None,
                  outside=True, **kwargs):
    """A legend of at most max_entries entries. `fixed` (handle, label) pairs (overlays, style
    keys) are always shown, after the series; of the series (handles, labels) the first ones
    are named and, when they do not fit, the rest are grouped into one grey entry
    "+ N more (first ... last)". Returns the legend (None without entries)."""
    series = [(h, l) for h, l in zip(handles, labels) if l and not l.startswith("_")]
    fixed = [(h, l) for h, l in fixed if l]
    room = max(1, max_entries - len(fixed))
    if len(series) > room:
        kept, rest = series[:room - 1], series[room - 1:]
        grouped = Line2D([], [], color=BAND_COLOR, linestyle="-", linewidth=1.0)
        series = kept + [(grouped, "+ %d more (%s ... %s)" % (len(rest), rest[0][1],
                                                             rest[-1][1]))]
    pairs = series + fixed
    if not pairs:
        return None
    options = {"fontsize": "small", "title": title, "title_fontsize": "small"}
    if outside:
        options.update(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    else:
        options.update(loc="best")
    options.update(kwargs)
    return ax.legend([h for h, _ in pairs], [l for _, l in pairs], **options)


def proxy_patch(label, color=BAND_COLOR, alpha=0.25):
    """A legend-only filled patch (a shaded band)."""
    from matplotlib.patches import Patch

    return Patch(facecolor=color, alpha=alpha, label=label)


def proxy(label, **style):
    """A legend-only handle."""
    style.setdefault("color", "#444444")
    return Line2D([], [], label=label, **style)


# ---------------------------------------------------------------------------------------------
# The t axis


class TimeScale:
    """How the t axis is drawn: kind "symlog" (linear below linthresh) or "linear"."""

    def __init__(self, kind, linthresh=None):
        self.kind = kind
        self.linthresh = linthresh

    def __repr__(self):
        return "TimeScale(%r, %r)" % (self.kind, self.linthresh)


def time_scale(times, params=None):
    """The TimeScale of snapshot times, from the spec's schedule when known (see above)."""
    positive = sorted({float(t) for t in times if t is not None and t > 0})
    params_list = [p for p in (params if isinstance(params, (list, tuple)) else [params]) if p]
    if params_list:
        logs = [p for p in params_list if p.log_schedule]
        if not logs:
            return TimeScale("linear")
        linthresh = min(p.t_first for p in logs)
        if positive:
            # The first positive snapshot is at t_first up to the rounding to whole steps.
            linthresh = min(linthresh, positive[0])
        return TimeScale("symlog", linthresh)
    if len(positive) >= 3 and positive[-1] / positive[0] > 10:
        ratios = [b / a for a, b in zip(positive, positive[1:])]
        if min(ratios) > 1.2 and max(ratios) / min(ratios) < 3:
            return TimeScale("symlog", positive[0])
    return TimeScale("linear")


class _SymlogTimeLocator:
    """Major ticks of a symlog t axis: 0, linthresh, then 1-2-5 x 10^n (1 x 10^n when that
    gives more than 7 ticks) up to the axis end."""

    @staticmethod
    def ticks(linthresh, t_max):
        ticks = [0.0, linthresh]
        if not (t_max > linthresh):
            return ticks
        for mantissas in ((1, 2, 5), (1,)):
            values = []
            exponent = math.floor(math.log10(linthresh))
            while 10.0 ** exponent <= t_max * 1.0001:
                values += [m * 10.0 ** exponent for m in mantissas
                           if linthresh * 1.3 < m * 10.0 ** exponent <= t_max * 1.0001]
                exponent += 1
            if len(values) <= 6 or mantissas == (1,):
                if values and t_max > 1.3 * values[-1]:
                    values.append(t_max)  # the end of the run, e.g. t = 8 after 5
                return ticks + values
        return ticks


def apply_time_axis(ax, scale, label=True):
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    if scale.kind == "symlog":
        ax.set_xscale("symlog", linthresh=scale.linthresh, linscale=0.6)
        t_max = max([scale.linthresh] + [float(numpy_max(line.get_xdata()))
                                          for line in ax.get_lines() if len(line.get_xdata())])
        ax.xaxis.set_major_locator(FixedLocator(_SymlogTimeLocator.ticks(scale.linthresh, t_max)))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: "%g" % v))
        # Limits computed before the scale changed keep linear margins: recompute them.
        ax.autoscale_view(scalex=True, scaley=False)
        if label:
            ax.set_xlabel("%s (symlog: linear below %g)" % (TIME_LABEL, scale.linthresh))
    elif label:
        ax.set_xlabel(TIME_LABEL)


def numpy_max(values):
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return max(finite) if finite else 0.0


def log_y_if_positive(ax, values, label="eigenvalue"):
    """A log y axis when every value is > 0 (outliers and bulk differ by decades); linear
    otherwise. The label says which."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    finite = [v for v in values if v is not None and math.isfinite(v)]
    positive = bool(finite) and all(v > 0 for v in finite)
    ax.set_yscale("log" if positive else "linear")
    ax.set_ylabel("%s (%s scale)" % (label, "log" if positive else "linear"))
    if positive:
        # Labelled ticks at 1-2-5 x 10^n over up to two decades, 1-3 up to four, decades
        # beyond: a narrow log axis still carries numbers.
        decades = math.log10(max(finite) / min(finite))
        subs = (1.0, 2.0, 5.0) if decades <= 2 else (1.0, 3.0) if decades <= 4 else (1.0,)
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=subs))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: "%g" % v))
        ax.yaxis.set_minor_formatter(NullFormatter())
    return positive
