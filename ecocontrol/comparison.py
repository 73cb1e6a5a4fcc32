"""Honest comparisons: paired savings per window, seeds aggregated as rliable does.

A benchmark table (:func:`ecocontrol.runner.benchmark`) holds one row per (controller,
window), and every controller meets the same windows with the same env seed, so savings are
paired: each window's saving is the reference's cost there minus the controller's. This module
turns those pairs into the numbers a comparison quotes:

* :func:`paired_savings`: per run (a controller label; an agent's seeds are labels
  ``<family>_s<k>``, e.g. ``ppo_s0``) the mean saving against the reference (``rule``, and also
  ``mpc`` when it was run) with a percentile-bootstrap 95 % interval over windows, the windows
  where it is cheaper and the number of windows;
* :func:`aggregate_savings`: per family (the seeds of one agent pooled; a baseline is a family
  of one run) the interquartile mean (IQM) of all (seed, window) savings with a stratified
  bootstrap interval, the per-seed means, and the fraction of the MPC's saving the family
  recovers, with its interval;
* :func:`comparison_table` (both, for several references), :func:`comparison_markdown` and
  :func:`study_comparison` (the reference study's summary stage).

Units: a window's saving is in percent of the reference's mean cost over the windows (a fixed
scale, like rliable's per-task normalisation), so the mean of the window savings is the saving
of the mean cost, ``100 (mean(ref) - mean(ctl)) / mean(ref)``, as in
:func:`ecocontrol.results.summarize`.

Aggregation follows Agarwal et al. (2021), "Deep reinforcement learning at the edge of the
statistical precipice" (NeurIPS), and its library rliable: the IQM is the 25 % trimmed mean over
all (run, task) scores (``rliable.metrics.aggregate_iqm``, ``scipy.stats.trim_mean`` with
``proportiontocut=0.25, axis=None``); the interval is that of
``rliable.library.get_interval_estimates`` with ``task_bootstrap=True`` and the ``percentile``
method: each replicate draws the tasks (here: windows) with replacement and, in each drawn
column, a run (here: seed) with replacement for every cell (``StratifiedBootstrap``). rliable
itself is not a dependency: it pins ``arch`` (``arch == 5.3.0`` in its setup), ``seaborn`` and
``absl-py`` and draws from numpy's global random state; the few lines it needs are here, in
numpy, with a generator seeded from the ``seed`` argument (never OS entropy). Every row starts
its generator from the same ``seed``, so rows of the same shape resample the same windows
(common random numbers) and a row's interval does not depend on which other rows are built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecocontrol.results import display_label, errors_of, ladder_order

#: An agent's seeded run: ``<family>_s<k>`` (``ppo_s0``, ``ppo_tuned_s2``).
SEED_LABEL = re.compile(r"^(?P<family>.+)_s(?P<seed>\d+)$")
#: The reference whose saving an agent's is measured against ("fraction of MPC's saving").
MPC = "mpc"

#: Columns of :func:`paired_savings`, in order.
PAIRED_COLUMNS: tuple[str, ...] = (
    "reference",
    "controller",
    "family",
    "agent_seed",
    "windows",
    "saving_pct",
    "saving_ci_low_pct",
    "saving_ci_high_pct",
    "wins",
)
#: Columns of :func:`aggregate_savings` and :func:`comparison_table`, in order.
AGGREGATE_COLUMNS: tuple[str, ...] = (
    "reference",
    "controller",
    "level",
    "runs",
    "windows",
    "episodes",
    "wins",
    "saving_iqm_pct",
    "saving_iqm_ci_low_pct",
    "saving_iqm_ci_high_pct",
    "saving_mean_pct",
    "saving_mean_ci_low_pct",
    "saving_mean_ci_high_pct",
    "seed_means_pct",
    "fraction_of_mpc",
    "fraction_of_mpc_ci_low",
    "fraction_of_mpc_ci_high",
)


def split_label(label: str) -> tuple[str, int | None]:
    """``ppo_s1`` -> ``("ppo", 1)``; a label without a seed suffix -> ``(label, None)``."""
    m = SEED_LABEL.match(label)
    return (m["family"], int(m["seed"])) if m else (label, None)


def iqm(scores: np.ndarray, axis: int | None = None) -> np.ndarray:
    """Interquartile mean: the 25 % trimmed mean (``scipy.stats.trim_mean(x, 0.25, axis)``).

    ``int(0.25 n)`` values are cut from each end of the sorted scores (all of them with
    ``axis=None``, else along ``axis``) and the rest averaged.
    """
    x = np.asarray(scores, dtype=float)
    if axis is None:
        x, axis = x.reshape(-1), 0
    x = np.moveaxis(x, axis, -1)
    n = x.shape[-1]
    cut = int(0.25 * n)
    return np.sort(x, axis=-1)[..., cut : n - cut].mean(axis=-1)


@dataclass(frozen=True)
class Estimate:
    """Point estimates and percentile-bootstrap intervals of a (runs x windows) saving matrix.

    Attributes:
        mean: mean over all (run, window) savings [% of the reference's mean cost].
        mean_ci: its interval (low, high).
        iqm: interquartile mean over all (run, window) savings.
        iqm_ci: its interval.
        run_means: each run's mean over windows.
        wins: (run, window) pairs where the controller was cheaper than the reference.
        fraction: ``mean`` / the MPC's mean saving (NaN without an MPC or if its saving <= 0).
        fraction_ci: its interval (the same resampled windows for both savings).
    """

    mean: float
    mean_ci: tuple[float, float]
    iqm: float
    iqm_ci: tuple[float, float]
    run_means: tuple[float, ...]
    wins: int
    fraction: float
    fraction_ci: tuple[float, float]


def resample(
    savings: np.ndarray, mpc: np.ndarray | None, windows: np.ndarray, runs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, IQM and fraction of the MPC's saving of bootstrap replicates with given indices.

    Args:
        savings: ``(R, W)`` savings of R runs on W windows.
        mpc: ``(W,)`` the MPC's savings on the same windows, or None.
        windows: ``(B, W)`` the windows drawn for each of B replicates.
        runs: ``(B, R, W)`` the run drawn for each cell of each replicate (rliable's
            stratified draw: within each drawn window).

    Returns:
        ``(B,)`` arrays: the replicates' mean, IQM and fraction (NaN without ``mpc``).
    """
    drawn = savings[runs, windows[:, None, :]]  # (B, R, W)
    flat = drawn.reshape(drawn.shape[0], -1)
    mean = flat.mean(axis=1)
    if mpc is None:
        fraction = np.full_like(mean, np.nan)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            fraction = mean / mpc[windows].mean(axis=1)
    return mean, iqm(flat, axis=1), fraction


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = 100.0 * (1.0 - confidence) / 2.0
    if not np.isfinite(values).all():
        return (float("nan"), float("nan"))
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return (float(low), float(high))


def estimate(
    savings: np.ndarray,
    mpc: np.ndarray | None = None,
    *,
    n_boot: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """Point estimates and stratified-bootstrap intervals of a saving matrix.

    Args:
        savings: ``(R, W)`` savings of R runs (seeds) on W windows; one run: ``(1, W)``.
        mpc: ``(W,)`` the MPC's savings on the same windows (for the fraction), or None.
        n_boot: bootstrap replicates.
        seed: seeds the generator (``numpy.random.default_rng(seed)``).
        confidence: interval coverage.

    Each replicate draws W windows with replacement and, for every (run, window) cell, a run
    with replacement (rliable's ``StratifiedBootstrap`` with ``task_bootstrap=True``); with one
    run it is the plain percentile bootstrap over windows. The MPC's savings are taken on the
    replicate's windows (paired). A fraction whose MPC saving is not positive is NaN.
    """
    s = np.asarray(savings, dtype=float)
    if s.ndim != 2 or s.size == 0 or not np.isfinite(s).all():
        raise ValueError(f"savings: need a finite (runs, windows) matrix, got shape {s.shape}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence}: allowed 0 < confidence < 1")
    if n_boot < 1:
        raise ValueError(f"n_boot={n_boot}: allowed >= 1")
    n_runs, n_windows = s.shape
    m = None if mpc is None else np.asarray(mpc, dtype=float).reshape(n_windows)
    rng = np.random.default_rng(seed)
    windows = rng.integers(0, n_windows, size=(n_boot, n_windows))
    if n_runs == 1:
        runs = np.zeros((n_boot, 1, n_windows), dtype=np.intp)
    else:
        runs = rng.integers(0, n_runs, size=(n_boot, n_runs, n_windows))
    mean_b, iqm_b, frac_b = resample(s, m, windows, runs)
    mean = float(s.mean())
    mpc_mean = float("nan") if m is None else float(m.mean())
    fraction = mean / mpc_mean if mpc_mean > 0 else float("nan")
    return Estimate(
        mean=mean,
        mean_ci=_interval(mean_b, confidence),
        iqm=float(iqm(s)),
        iqm_ci=_interval(iqm_b, confidence),
        run_means=tuple(float(x) for x in s.mean(axis=1)),
        wins=int((s > 0).sum()),
        fraction=fraction,
        fraction_ci=_interval(frac_b, confidence) if np.isfinite(fraction) else (np.nan,) * 2,
    )


def _ok_rows(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The finished rows, checked: the columns exist, one row per (controller, window)."""
    missing = [c for c in ("controller", "window", metric) if c not in table]
    if missing:
        numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
        raise ValueError(
            f"benchmark table lacks column(s) {missing}; metric must be one of {numeric}"
        )
    ok = table[errors_of(table) == ""]
    dup = ok.duplicated(["controller", "window"], keep=False)
    if dup.any():
        pairs = sorted({(str(c), int(w)) for c, w in ok.loc[dup, ["controller", "window"]].values})
        raise ValueError(
            f"benchmark table has several finished rows for (controller, window) {pairs[:5]}; "
            "pass one selection (e.g. the run's benchmark_<plant>.parquet)"
        )
    bad = ok[~np.isfinite(ok[metric].astype(float))]
    if len(bad):
        raise ValueError(
            f"{metric} is not finite for (controller, window) "
            f"{list(zip(bad['controller'], bad['window'], strict=True))[:5]}"
        )
    return ok


def _window_sets(table: pd.DataFrame, ok: pd.DataFrame, labels: Sequence[str], ref: str) -> None:
    """Raise unless every label finished exactly the reference's windows with its env seeds."""
    want = set(ok.loc[ok["controller"] == ref, "window"].astype(int))
    failed = table[errors_of(table) != ""]
    for label in labels:
        got = set(ok.loc[ok["controller"] == label, "window"].astype(int))
        if got != want:
            lost = sorted(failed.loc[failed["controller"] == label, "window"].astype(int))
            raise ValueError(
                f"windows of controller {label!r} differ from reference {ref!r}'s: missing "
                f"{sorted(want - got)}, extra {sorted(got - want)}"
                + (f" (failed on {lost})" if lost else "")
                + "; savings are paired per window, so both need the same windows"
            )
    if "seed" in ok:
        seeds = ok.pivot(index="window", columns="controller", values="seed")
        for label in labels:
            differ = seeds.index[seeds[label] != seeds[ref]].tolist()
            if differ:
                raise ValueError(
                    f"env seeds of controller {label!r} differ from reference {ref!r}'s on "
                    f"windows {differ}; savings are paired on the same window and seed"
                )


def _labels(all_labels: Sequence[str], controllers: Sequence[str] | None) -> list[str]:
    """Labels selected by ``controllers`` (labels or families; None: all)."""
    if controllers is None:
        return list(all_labels)
    families = {split_label(x)[0] for x in all_labels}
    unknown = [c for c in controllers if c not in all_labels and c not in families]
    if unknown:
        raise ValueError(
            f"controllers={list(controllers)!r}: unknown {unknown}; allowed: labels "
            f"{list(all_labels)} or families {sorted(families)}"
        )
    want = set(controllers)
    return [x for x in all_labels if x in want or split_label(x)[0] in want]


@dataclass(frozen=True)
class _Paired:
    """Savings against one reference [% of its mean cost], windows as columns."""

    reference: str
    windows: list[int]
    savings: pd.DataFrame  # index: label, columns: windows

    def matrix(self, labels: Sequence[str]) -> np.ndarray:
        return self.savings.loc[list(labels)].to_numpy(dtype=float)

    def mpc(self) -> np.ndarray | None:
        if MPC not in self.savings.index or self.reference == MPC:
            return None
        return self.savings.loc[MPC].to_numpy(dtype=float)


def _paired(
    table: pd.DataFrame, reference: str, controllers: Sequence[str] | None, metric: str
) -> _Paired:
    ok = _ok_rows(table, metric)
    all_labels = list(dict.fromkeys(table["controller"].astype(str)))
    if reference not in all_labels:
        raise ValueError(f"reference={reference!r} is not in the table; allowed: {all_labels}")
    labels = [x for x in _labels(all_labels, controllers) if x != reference]
    if reference != MPC and MPC in all_labels and MPC not in labels:
        labels.append(MPC)  # the fraction of the MPC's saving needs its windows too
    _window_sets(table, ok, labels, reference)
    cost = ok.pivot(index="controller", columns="window", values=metric).astype(float)
    ref = cost.loc[reference]
    scale = float(ref.to_numpy().mean())
    if not scale > 0:
        raise ValueError(
            f"{metric} of reference {reference!r} has mean {scale} over the windows; savings "
            "are in percent of it, so it must be > 0"
        )
    savings = 100.0 * (ref - cost.loc[labels]) / scale
    return _Paired(reference, [int(w) for w in cost.columns], savings)


def _references(table: pd.DataFrame, reference: str, also: Sequence[str]) -> list[str]:
    present = set(table["controller"].astype(str)) if "controller" in table else set()
    return [reference, *[r for r in also if r != reference and r in present]]


def paired_savings(
    table: pd.DataFrame,
    reference: str = "rule",
    controllers: Sequence[str] | None = None,
    metric: str = "cost_total",
    n_boot: int = 10_000,
    seed: int = 0,
    *,
    also: Sequence[str] = (MPC,),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Each run's saving against ``reference`` (and each of ``also`` run), paired per window.

    Args:
        table: a benchmark table, one row per (controller, window); failed rows (``error``
            set) are left out.
        reference: the label savings are measured against.
        controllers: labels or families (``ppo`` selects ``ppo_s0``, ``ppo_s1``, ...) to
            compare; None: every label but the reference.
        metric: the cost column.
        n_boot: bootstrap replicates.
        seed: seeds the bootstrap (the same for every row, so rows resample the same windows).
        also: further references, used when the table has them (by default ``mpc``).
        confidence: the intervals' coverage.

    Returns:
        One row per (reference, controller), columns :data:`PAIRED_COLUMNS`: ``family`` and
        ``agent_seed`` from the label (``ppo_s1``: ``ppo``, 1; a baseline: itself, NA);
        ``saving_pct``: the mean of the window savings, ``100 (ref_w - ctl_w) / mean(ref)``,
        which is the saving of the mean cost; its percentile-bootstrap interval over windows;
        ``wins``: windows where the controller is cheaper; ``windows``: how many.

    Raises:
        ValueError: a missing column or reference, an unknown controller, two finished rows
            for one (controller, window), a non-finite cost, or a controller whose windows
            (or their env seeds) differ from the reference's, naming them.
    """
    rows = []
    for ref in _references(table, reference, also):
        p = _paired(table, ref, controllers, metric)
        chosen = _labels(list(p.savings.index), controllers) if controllers else p.savings.index
        for label in chosen:
            e = estimate(p.matrix([label]), n_boot=n_boot, seed=seed, confidence=confidence)
            fam, agent_seed = split_label(str(label))
            rows.append((ref, label, fam, agent_seed, len(p.windows), e.mean, *e.mean_ci, e.wins))
    out = pd.DataFrame(rows, columns=list(PAIRED_COLUMNS))
    out["agent_seed"] = out["agent_seed"].astype("Int64")
    return out


def aggregate_savings(
    table: pd.DataFrame,
    reference: str = "rule",
    controllers: Sequence[str] | None = None,
    metric: str = "cost_total",
    n_boot: int = 10_000,
    seed: int = 0,
    *,
    confidence: float = 0.95,
    per_run: bool = False,
) -> pd.DataFrame:
    """Each family's savings against ``reference``, its seeds pooled as rliable does.

    A family is an agent's seeded runs (``ppo_s0``, ``ppo_s1``, ...) or a baseline alone (a
    family of one run). Its row (``level`` "family"): ``saving_iqm_pct``, the interquartile
    mean over every (seed, window) saving, robust to a diverged seed, with its stratified
    bootstrap interval (see the module docstring); ``saving_mean_pct`` and its interval from
    the same replicates; ``seed_means_pct``, each seed's mean saving (text, by seed);
    ``wins`` of ``episodes`` (seed, window) pairs; ``fraction_of_mpc``, the family's mean
    saving over the MPC's (against the same reference, on the same resampled windows; NaN
    against the MPC itself, for the MPC, or when the MPC saves nothing).
    With ``per_run`` the seeds of a family of several runs get rows too (``level`` "run").

    Args:
        table: a benchmark table (see :func:`paired_savings`).
        reference: the label savings are measured against.
        controllers: labels or families to compare; None: all but the reference.
        metric: the cost column.
        n_boot: bootstrap replicates.
        seed: seeds the bootstrap (the same for every row).
        confidence: the intervals' coverage.
        per_run: add a row per seed of each family of several runs.

    Returns:
        One row per family (and run), columns :data:`AGGREGATE_COLUMNS`.

    Raises:
        ValueError: as :func:`paired_savings`.
    """
    p = _paired(table, reference, controllers, metric)
    labels = _labels(list(p.savings.index), controllers) if controllers else list(p.savings.index)
    families: dict[str, list[str]] = {}
    for label in labels:
        families.setdefault(split_label(str(label))[0], []).append(str(label))
    mpc = p.mpc()
    rows = []
    for fam in ladder_order(list(families)):
        members = families[fam]
        members.sort(key=lambda x: (split_label(x)[1] or 0, x))
        groups = [(fam, "family", members)]
        if per_run and len(members) > 1:
            groups += [(x, "run", [x]) for x in members]
        for name, level, runs in groups:
            own = mpc is None or name == MPC or fam == MPC
            e = estimate(
                p.matrix(runs),
                None if own else mpc,
                n_boot=n_boot,
                seed=seed,
                confidence=confidence,
            )
            seed_means = (
                "; ".join(
                    f"s{split_label(r)[1]}: {v:.2f}" for r, v in zip(runs, e.run_means, strict=True)
                )
                if len(runs) > 1
                else ""
            )
            rows.append(
                (reference, name, level, len(runs), len(p.windows), len(runs) * len(p.windows),
                 e.wins, e.iqm, *e.iqm_ci, e.mean, *e.mean_ci, seed_means, e.fraction,
                 *e.fraction_ci)
            )  # fmt: skip
    return pd.DataFrame(rows, columns=list(AGGREGATE_COLUMNS))


def comparison_table(
    table: pd.DataFrame,
    reference: str = "rule",
    controllers: Sequence[str] | None = None,
    metric: str = "cost_total",
    n_boot: int = 10_000,
    seed: int = 0,
    *,
    also: Sequence[str] = (MPC,),
    confidence: float = 0.95,
    per_run: bool = True,
) -> pd.DataFrame:
    """:func:`aggregate_savings` against ``reference`` and each of ``also`` in the table.

    One row per (reference, family), and with ``per_run`` per (reference, seed) of each
    family of several runs (``level`` "run"); columns :data:`AGGREGATE_COLUMNS`. Render it
    with :func:`comparison_markdown`.

    Raises:
        ValueError: as :func:`paired_savings`.
    """
    frames = [
        aggregate_savings(
            table,
            ref,
            controllers,
            metric,
            n_boot,
            seed,
            confidence=confidence,
            per_run=per_run,
        )
        for ref in _references(table, reference, also)
    ]
    return pd.concat(frames, ignore_index=True)


def _ci_texts(rows: pd.DataFrame, value: str, stem: str, unit: str = "_pct") -> list[str]:
    """``"1.23 [0.45, 2.01]"`` per row from the columns ``value``, ``<stem>_ci_low<unit>``..."""
    cols = [value, f"{stem}_ci_low{unit}", f"{stem}_ci_high{unit}"]
    out = []
    for v, low, high in rows[cols].astype(float).to_numpy():
        interval = f" [{low:.2f}, {high:.2f}]" if np.isfinite(low) else ""
        out.append(f"{v:.2f}{interval}" if np.isfinite(v) else "")
    return out


def comparison_markdown(comparison: pd.DataFrame, plant: str | None = None) -> str:
    """A Markdown table of a :func:`comparison_table`'s family rows (seeds pooled).

    Columns: the reference, the controller (its :func:`ecocontrol.results.display_label` on
    ``plant``), runs, windows, the IQM and mean saving [% of the reference's mean cost] with
    95 % intervals, the per-seed means, the windows won, and the fraction of the MPC's saving.
    """
    rows = comparison[comparison["level"] == "family"]
    if rows.empty:
        return "(no rows)"
    shown = pd.DataFrame(
        {
            "vs": rows["reference"].map(lambda r: display_label(plant, str(r))),
            "controller": rows["controller"].map(lambda c: display_label(plant, str(c))),
            "runs": rows["runs"],
            "windows": rows["windows"],
            "saving IQM [%] (95% CI)": _ci_texts(rows, "saving_iqm_pct", "saving_iqm"),
            "saving mean [%] (95% CI)": _ci_texts(rows, "saving_mean_pct", "saving_mean"),
            "seed means [%]": rows["seed_means_pct"].fillna(""),
            "cheaper": [f"{w}/{n}" for w, n in zip(rows["wins"], rows["episodes"], strict=True)],
            "fraction of MPC's saving (95% CI)": _ci_texts(
                rows, "fraction_of_mpc", "fraction_of_mpc", unit=""
            ),
        }
    )
    return shown.to_markdown(index=False)


def _plant_of(path: Path) -> str:
    """``.../benchmark_hot_stove.csv`` -> ``hot_stove``."""
    return path.stem.removeprefix("benchmark_")


def read_table(path: Path) -> pd.DataFrame:
    """A benchmark table from CSV or Parquet, ``controller`` and ``error`` kept as text."""
    path = Path(path)
    if path.suffix == ".parquet":
        table = pd.read_parquet(path)
    else:
        table = pd.read_csv(path, dtype={"controller": str, "error": str})
    if "error" in table:
        table["error"] = table["error"].fillna("").astype(str)
    return table


def study_comparison(
    benchmark_csvs: Mapping[str, Path | str] | Sequence[Path | str],
    *,
    n_boot: int = 10_000,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """The reference study's comparison: :func:`comparison_table` per plant.

    Args:
        benchmark_csvs: plant -> benchmark table (CSV or Parquet), or the tables' paths
            named ``benchmark_<plant>.<ext>``.
        n_boot: bootstrap replicates.
        seed: seeds the bootstrap.

    Returns:
        Plant -> its comparison (rows per reference and family, and per seed), with a first
        column ``plant``.

    Raises:
        ValueError: as :func:`paired_savings`, the message prefixed by the plant.
    """
    if isinstance(benchmark_csvs, Mapping):
        paths = {str(k): Path(v) for k, v in benchmark_csvs.items()}
    else:
        paths = {_plant_of(Path(p)): Path(p) for p in benchmark_csvs}
    out = {}
    for plant, path in paths.items():
        try:
            comp = comparison_table(read_table(path), n_boot=n_boot, seed=seed)
        except ValueError as exc:
            raise ValueError(f"{plant} ({path}): {exc}") from exc
        comp.insert(0, "plant", plant)
        out[plant] = comp
    return out
