"""The energy and CO2 of the controllers' own computing: training runs and decisions.

:class:`ComputeMeter` measures a block of code with codecarbon's ``OfflineEmissionsTracker``
(no network: no location lookup, no API, no file output) and multiplies the energy by the
grid factor of the plant the run is about (:func:`grid_factor`), so the CO2 of the compute
and the plant's own grid CO2 use the same factor.

How codecarbon measures (tracking mode ``process``: this process and its children, so other
jobs on a shared machine are not charged to the run):

* CPU: RAPL energy counters where ``/sys/class/powercap`` is readable; otherwise (a container,
  a VM) the ``cpu_load`` model: the CPU's TDP from codecarbon's table (4 W per thread for a
  CPU it does not know) times the process's share of the machine's CPU time.
* RAM: a power model from the memory in use (at least two DIMM slots of 5 W on x86: 10 W).

Where codecarbon cannot be imported or fails, the meter falls back on the same two terms
computed here (:data:`FALLBACK_W_PER_THREAD` per busy thread from the process CPU time, plus
:data:`FALLBACK_RAM_W` over the wall time); each fallback is logged and counted
(:func:`fallback_count`, the meter's ``fallbacks``), and the method reads
``cpu_time_fallback``.

What the figures are: the marginal energy of the computation, an estimate (codecarbon's), not
a wall-socket measurement; the power of the computer that hosts a controller around the clock
is not in them (see :func:`ecocontrol.results.net_carbon_table`, ``host_power_w``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import gymnasium as gym

from ecocontrol.emissions import DEFAULT_GRID_FACTOR_T_PER_MWH
from ecocontrol.io import write_atomic

log = logging.getLogger(__name__)

#: Parameter fields that hold a plant's grid CO2 factor [tCO2/MWh] = [kgCO2/kWh], in the order
#: looked for: the hot stove's and the kiln's constant factor, the park's annual mean (its
#: hourly intensity is a synthetic daily shape around that mean).
GRID_FIELDS: tuple[str, ...] = ("grid_factor_t_per_mwh", "grid_mean_t_per_mwh")
#: Fallback CPU power per busy thread [W]: codecarbon's own default for a CPU whose TDP it
#: does not know (what it applies on a machine it cannot identify).
FALLBACK_W_PER_THREAD = 4.0
#: Fallback RAM power [W]: codecarbon's minimum for x86 (two DIMM slots of 5 W).
FALLBACK_RAM_W = 10.0
#: File in a training run directory that holds the compute totals of the run's sessions.
LEDGER = "compute.json"
#: The method of a fallback measurement.
FALLBACK_METHOD = "cpu_time_fallback"

_FALLBACKS = {"count": 0}
_LOGGED: set[str] = set()


def fallback_count() -> int:
    """Measurements in this process that fell back on the CPU-time estimate."""
    return _FALLBACKS["count"]


def grid_factor(source: Any) -> tuple[float, str]:
    """The grid CO2 factor of a plant [kgCO2/kWh] and where it comes from.

    Args:
        source: an ecocontrol env (wrappers allowed), an env config (a mapping with
            ``_target_``, as the training and benchmark configs hold), or a plant's parameter
            dataclass.

    Returns:
        ``(factor, source)``: the parameter field (``<Params class>.<field>`` or
        ``env.params.<field>``), or the library default (China 2023 average) when the plant
        has none.
    """
    if isinstance(source, gym.Env):
        from ecocontrol.controllers.base import plant_of

        source = plant_of(source).params
    if isinstance(source, Mapping):
        from ecocontrol.config import resolved_env_config

        params = resolved_env_config(source).get("params") or {}
        for name in GRID_FIELDS:
            if isinstance(params, Mapping) and name in params:
                return float(params[name]), f"env.params.{name}"
    else:
        for name in GRID_FIELDS:
            if hasattr(source, name):
                return float(getattr(source, name)), f"{type(source).__name__}.{name}"
    return DEFAULT_GRID_FACTOR_T_PER_MWH, "ecocontrol.emissions.DEFAULT_GRID_FACTOR_T_PER_MWH"


def episode_hours(env: gym.Env[Any, Any]) -> float:
    """Length of an episode of ``env`` in hours of plant operation."""
    from ecocontrol.controllers.base import plant_of

    plant = plant_of(env)
    dt_h = getattr(plant, "dt_h", None)
    if dt_h is None:
        dt_min = getattr(plant, "dt_min", None)
        # Every plant's exogenous data span one year: a step is a year / n_steps_total.
        dt_h = dt_min / 60.0 if dt_min is not None else 8760.0 / plant.windows.n_steps_total
    return float(plant.episode_steps) * float(dt_h)


def _process_cpu_s(children: bool = False) -> float:
    if not children:
        return time.process_time()
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class ComputeMeter:
    """Energy [kWh] and CO2 [kg] of the code run inside ``with ComputeMeter(...) as m:``.

    After the block: ``m.kwh`` (CPU + RAM), ``m.cpu_kwh``, ``m.ram_kwh``, ``m.kgco2`` (kwh x
    the grid factor), ``m.method`` (``codecarbon-<version>:<cpu mode>`` or
    ``cpu_time_fallback``), ``m.wall_s`` and ``m.cpu_s`` (this process's CPU time, all its
    threads). With a ``ledger`` the totals of earlier sessions (a resumed training run) are
    read from it and :meth:`summary` reports session and earlier sessions together.

    Args:
        grid_kgco2_per_kwh: the grid factor the energy is converted with [kgCO2/kWh].
        label: names the measurement in codecarbon and in log messages.
        grid_source: where the factor comes from (reported by :meth:`summary`).
        method: ``auto`` (codecarbon, falling back on failure) or ``cpu_time`` (the fallback
            estimate only).
        ledger: a JSON file that holds the totals over sessions (written at
            :meth:`checkpoint` and at the end).
        carry: add the totals already in ``ledger`` (False: start the ledger again).
        log_level: codecarbon's log level (its messages name the CPU model, the TDP it
            assumed and why RAPL is not used).
    """

    def __init__(
        self,
        grid_kgco2_per_kwh: float,
        label: str = "",
        *,
        grid_source: str = "",
        method: str = "auto",
        ledger: Path | str | None = None,
        carry: bool = True,
        log_level: str = "error",
    ) -> None:
        if not (math.isfinite(grid_kgco2_per_kwh) and 0.0 <= grid_kgco2_per_kwh <= 2.0):
            raise ValueError(
                f"grid_kgco2_per_kwh={grid_kgco2_per_kwh!r} is out of range; allowed: 0..2"
            )
        if method not in ("auto", "cpu_time"):
            raise ValueError(f"method={method!r} is invalid; allowed: auto or cpu_time")
        self.grid_kgco2_per_kwh = float(grid_kgco2_per_kwh)
        self.label = label or "ecocontrol"
        self.grid_source = grid_source
        self.ledger = None if ledger is None else Path(ledger)
        self.carry = carry
        self.log_level = log_level
        self._use_codecarbon = method == "auto"
        self._tracker: Any = None
        self._open = False
        self.kwh = self.cpu_kwh = self.ram_kwh = self.kgco2 = 0.0
        self.wall_s = self.cpu_s = 0.0
        self.method = ""
        self.fallbacks = 0
        self._earlier: dict[str, Any] = {}

    # -- the measurement ----------------------------------------------------------------------
    def __enter__(self) -> ComputeMeter:
        if self.ledger is not None and self.carry and self.ledger.is_file():
            self._earlier = json.loads(self.ledger.read_text())
        self._start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()
        self._write_ledger()

    def checkpoint(self) -> None:
        """Close the running segment (its figures join the totals), write the ledger, go on."""
        self._stop()
        self._write_ledger()
        self._start()

    def _tracker_or_none(self) -> Any:
        if self._tracker is not None or not self._use_codecarbon:
            return self._tracker
        try:
            from codecarbon import OfflineEmissionsTracker

            logging.getLogger("codecarbon").setLevel(self.log_level.upper())
            self._tracker = OfflineEmissionsTracker(
                project_name="ecocontrol",
                experiment_name=self.label,
                tracking_mode="process",
                output_methods=[],  # no emissions.csv, no API, no logger output
                emissions_endpoint=None,
                allow_multiple_runs=True,  # no lock file: meters may nest
                log_level=self.log_level,
                force_carbon_intensity_g_co2e_kwh=1000.0 * self.grid_kgco2_per_kwh,
            )
        except Exception as exc:
            self._fell_back(f"codecarbon could not start ({exc!r})")
        return self._tracker

    def _start(self) -> None:
        tracker = self._tracker_or_none()
        if tracker is not None:
            try:
                tracker.start_task(self.label)
            except Exception as exc:
                self._fell_back(f"codecarbon start_task failed ({exc!r})")
        self._wall0 = time.perf_counter()
        self._cpu0 = _process_cpu_s()
        self._cpu0_children = _process_cpu_s(children=True)
        self._open = True

    def _stop(self) -> None:
        if not self._open:
            return
        wall = time.perf_counter() - self._wall0
        cpu = _process_cpu_s() - self._cpu0
        self._open = False
        reading = None
        if self._tracker is not None and self._use_codecarbon:
            try:
                data = self._tracker.stop_task(self.label)
                if data is not None:
                    reading = (float(data.cpu_energy), float(data.ram_energy))
                    self.method = self._method_of(self._tracker)
            except Exception as exc:
                self._fell_back(f"codecarbon stop_task failed ({exc!r})")
            if reading is None and self._use_codecarbon:
                self._fell_back("codecarbon returned no measurement")
        if reading is None:
            cpu_all = _process_cpu_s(children=True) - self._cpu0_children
            reading = (FALLBACK_W_PER_THREAD * cpu_all / 3.6e6, FALLBACK_RAM_W * wall / 3.6e6)
            self.method = self.method or FALLBACK_METHOD
        self.cpu_kwh += reading[0]
        self.ram_kwh += reading[1]
        self.kwh = self.cpu_kwh + self.ram_kwh
        self.kgco2 = self.kwh * self.grid_kgco2_per_kwh
        self.wall_s += wall
        self.cpu_s += cpu

    def _fell_back(self, reason: str) -> None:
        self.fallbacks += 1
        _FALLBACKS["count"] += 1
        self._use_codecarbon = False
        self.method = FALLBACK_METHOD
        log.warning(
            "compute meter %s: %s; estimating %.0f W per busy thread + %.0f W RAM from the "
            "process CPU time instead (fallback %d in this process)",
            self.label,
            reason,
            FALLBACK_W_PER_THREAD,
            FALLBACK_RAM_W,
            _FALLBACKS["count"],
        )

    @staticmethod
    def _method_of(tracker: Any) -> str:
        """``codecarbon-<version>:<CPU mode>``; the hardware model is logged once per process."""
        from codecarbon import __version__

        cpu = next((h for h in tracker._hardware if type(h).__name__ == "CPU"), None)
        mode = str(getattr(cpu, "_mode", "unknown"))
        method = f"codecarbon-{__version__}:{mode}"
        if method not in _LOGGED:
            _LOGGED.add(method)
            log.info(
                "compute meter: codecarbon %s offline, process tracking; CPU mode %s "
                "(TDP %s W, %s threads), RAM %.1f W (its model)",
                __version__,
                mode,
                getattr(cpu, "_tdp", "?"),
                getattr(cpu, "_cpu_count", "?"),
                float(getattr(getattr(tracker, "_ram_power", None), "W", float("nan"))),
            )
        return method

    # -- what it reports ----------------------------------------------------------------------
    def share(self, cpu_s: float, wall_s: float) -> float:
        """The energy [kWh] of a part of the measured code that took ``cpu_s`` and ``wall_s``.

        The CPU energy in proportion to the part's share of the process CPU time, the RAM
        energy in proportion to its share of the wall time: exact under codecarbon's process
        model (CPU power proportional to CPU time, RAM power constant), a proportional
        allocation where RAPL counters measured the whole package.
        """
        cpu_part = min(max(cpu_s / self.cpu_s, 0.0), 1.0) if self.cpu_s > 0 else 0.0
        wall_part = min(max(wall_s / self.wall_s, 0.0), 1.0) if self.wall_s > 0 else 0.0
        return self.cpu_kwh * cpu_part + self.ram_kwh * wall_part

    def totals(self) -> dict[str, Any]:
        """This session's figures plus those of earlier sessions in the ledger."""
        e = self._earlier
        methods = [m for m in (e.get("method", ""), self.method) if m]
        return {
            "kwh": float(e.get("kwh", 0.0)) + self.kwh,
            "cpu_kwh": float(e.get("cpu_kwh", 0.0)) + self.cpu_kwh,
            "ram_kwh": float(e.get("ram_kwh", 0.0)) + self.ram_kwh,
            "kgco2": float(e.get("kgco2", 0.0)) + self.kgco2,
            "wall_s": float(e.get("wall_s", 0.0)) + self.wall_s,
            "cpu_s": float(e.get("cpu_s", 0.0)) + self.cpu_s,
            "sessions": int(e.get("sessions", 0)) + 1,
            "fallbacks": int(e.get("fallbacks", 0)) + self.fallbacks,
            "method": "+".join(dict.fromkeys("+".join(methods).split("+"))) if methods else "",
            "grid_kgco2_per_kwh": self.grid_kgco2_per_kwh,
            "grid_source": self.grid_source,
        }

    def summary(self, prefix: str = "compute_") -> dict[str, Any]:
        """The run's figures for a summary file: over every session of the ledger.

        Keys ``<prefix>kwh``, ``<prefix>kgco2``, ``<prefix>cpu_kwh``, ``<prefix>ram_kwh``,
        ``<prefix>wall_s``, ``<prefix>cpu_s``, ``<prefix>sessions``, ``<prefix>fallbacks``,
        ``<prefix>method``, ``grid_kgco2_per_kwh`` and ``grid_source``.
        """
        t = self.totals()
        out = {f"{prefix}{k}": t[k] for k in ("kwh", "kgco2", "cpu_kwh", "ram_kwh", "wall_s")}
        out.update({f"{prefix}{k}": t[k] for k in ("cpu_s", "sessions", "fallbacks", "method")})
        out["grid_kgco2_per_kwh"] = t["grid_kgco2_per_kwh"]
        out["grid_source"] = t["grid_source"]
        return out

    def _write_ledger(self) -> None:
        if self.ledger is not None:
            write_atomic(json.dumps(self.totals(), indent=2), self.ledger)


def training_callback(meter: ComputeMeter, every_s: float = 60.0) -> Any:
    """An SB3 callback: the meter's totals to TensorBoard and the ledger during training.

    At the end of a rollout, at most every ``every_s`` seconds, and at the end of training it
    closes the meter's running segment (:meth:`ComputeMeter.checkpoint`, so a killed run loses
    at most ``every_s`` of its compute) and records ``compute/kwh`` and ``compute/kgco2``
    (totals over the run's sessions) as TensorBoard scalars.
    """
    from stable_baselines3.common.callbacks import BaseCallback

    tensorboard_only = ("stdout", "log", "json", "csv")

    class ComputeCallback(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self._last = time.perf_counter()

        def _record(self) -> None:
            meter.checkpoint()
            t = meter.totals()
            self.logger.record("compute/kwh", t["kwh"], exclude=tensorboard_only)
            self.logger.record("compute/kgco2", t["kgco2"], exclude=tensorboard_only)
            self._last = time.perf_counter()

        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            if time.perf_counter() - self._last >= every_s:
                self._record()

        def _on_training_end(self) -> None:
            self._record()
            self.logger.dump(self.num_timesteps)

    return ComputeCallback()


def training_compute(path: str | Path | None) -> dict[str, float]:
    """``train_kwh`` and ``train_kgco2`` of the training run behind an agent's ``path``.

    ``path``: a training run directory or a model file in one (``model.zip``,
    ``best/best_model.zip``, a checkpoint); read from the run's ``train_summary.json``.
    Empty when there is no path or the run recorded no compute (trained before it did).
    """
    if path is None or str(path) == "":
        return {}
    p = Path(str(path))
    for d in (p,) if p.is_dir() else (p.parent, p.parent.parent):
        summary = d / "train_summary.json"
        if summary.is_file():
            s = json.loads(summary.read_text())
            if "compute_kwh" in s:
                return {
                    "train_kwh": float(s["compute_kwh"]),
                    "train_kgco2": float(s["compute_kgco2"]),
                }
            return {}
    return {}
