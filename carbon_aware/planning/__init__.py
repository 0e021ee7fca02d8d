"""Plan when and where to train: a carbon-aware planner, day-ahead forecasts and back-tests.

* :func:`plan_job` picks the region and start with the lowest expected mean intensity.
* :func:`plan_from_provider` plans from a provider's forecast (ours where it has none).
* :func:`run_backtest` measures what planning would have saved over history.
* :mod:`carbon_aware.planning.cli` adds the ``plan`` and ``backtest`` subcommands.
"""

from carbon_aware.planning.backtest import BacktestResult, run_backtest
from carbon_aware.planning.constraints import Constraints, Exclusion
from carbon_aware.planning.forecast import METHODS, DayAheadForecast, day_ahead_forecast
from carbon_aware.planning.planner import JobShape, Plan, RankedOption, plan_job
from carbon_aware.planning.when import plan_from_provider

__all__ = [
    "METHODS",
    "BacktestResult",
    "Constraints",
    "DayAheadForecast",
    "Exclusion",
    "JobShape",
    "Plan",
    "RankedOption",
    "day_ahead_forecast",
    "plan_from_provider",
    "plan_job",
    "run_backtest",
]
