"""FSRS parameters fitted to one candidate's review log, measured on its held-out tail, and the workload a
desired retention implies (pure: plain data in, plain data out; docs/fsrs-fit.md).

The optimiser is fsrs-rs (the `fsrs-rs-python` binding): it fits the 21 FSRS-6 weights that the scheduler
(the `fsrs` package) reads. Its unit of data is an FSRSItem: one card's reviews up to and including the one
it predicts, each with the days since the review before (0 for the first; same-day reviews are short-term).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from fsrs import Card, Rating, Scheduler
from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS
from fsrs_rs_python import DEFAULT_PARAMETERS, FSRS, FSRSItem, FSRSReview

from app.practice.scheduling import MAX_RETENTION, MIN_RETENTION, RATINGS, utc

FORECAST_RETENTIONS = (0.80, 0.85, 0.90, 0.95)
FORECAST_DAYS = 30


@dataclass(frozen=True)
class Review:
    """One rated answer: the card (question) it reviewed, its rating (again..easy) and when."""

    question_id: str
    rating: str
    at: datetime


@dataclass(frozen=True)
class FitResult:
    parameters: list[float]  # fitted on every review
    reviews: int  # the reviews in the log
    trained: int  # long-term reviews before the tail: what the measured fit saw
    evaluated: int  # long-term reviews in the held-out tail
    # fsrs-rs's evaluate() on the tail: log loss and RMSE over retrievability bins, for the default parameters
    # and for those fitted without the tail; None when the log has no tail (or nothing before it) to measure
    log_loss_before: float | None
    log_loss_after: float | None
    rmse_before: float | None
    rmse_after: float | None

    @property
    def learned(self) -> bool:
        """Whether the fit moved any weight off the defaults (fsrs-rs keeps them on too little data)."""
        return self.parameters != default_parameters()

    def metrics(self) -> dict[str, Any]:
        return {"learned": self.learned, "log_loss_before": self.log_loss_before, "log_loss_after": self.log_loss_after,
                "rmse_before": self.rmse_before, "rmse_after": self.rmse_after,
                "trained": self.trained, "evaluated": self.evaluated}


@dataclass(frozen=True)
class _Step:
    rating: int
    delta_days: int
    at: datetime


def _histories(reviews: Iterable[Review], tz: tzinfo) -> list[list[_Step]]:
    """Each card's reviews in time order, with the candidate's calendar days since the one before (as Anki
    counts days: a review at 23:00 and one at 01:00 are a day apart)."""
    by_card: dict[str, list[Review]] = {}
    for r in reviews:
        by_card.setdefault(r.question_id, []).append(r)
    out = []
    for revs in by_card.values():
        revs.sort(key=lambda r: r.at)
        steps, last_day = [], None
        for r in revs:
            day: date = utc(r.at).astimezone(tz).date()
            steps.append(_Step(RATINGS.index(r.rating) + 1, 0 if last_day is None else (day - last_day).days, r.at))
            last_day = day
        out.append(steps)
    return out


def _items(histories: Sequence[list[_Step]]) -> list[tuple[datetime, FSRSItem]]:
    """One item per long-term review (a later day than the review before): the history up to it, and when."""
    out = []
    for steps in histories:
        for i in range(1, len(steps)):
            if steps[i].delta_days > 0:
                out.append((steps[i].at, FSRSItem([FSRSReview(s.rating, s.delta_days) for s in steps[:i + 1]])))
    return out


def valid_parameters(weights: Sequence[float]) -> list[float]:
    """fsrs-rs's weights inside the bounds the `fsrs` scheduler accepts (float32 rounding can step out)."""
    if len(weights) != len(LOWER_BOUNDS_PARAMETERS) or not all(math.isfinite(w) for w in weights):
        raise ValueError(f"the optimiser returned {len(weights)} weights, not {len(LOWER_BOUNDS_PARAMETERS)} finite ones")
    return [min(max(float(w), lo), hi) for w, lo, hi in zip(weights, LOWER_BOUNDS_PARAMETERS,
                                                              UPPER_BOUNDS_PARAMETERS, strict=True)]


def _fit(items: list[FSRSItem]) -> list[float]:
    """fsrs-rs's fit; its defaults where it finds too little to learn from (it returns them itself when fewer
    than 8 items survive its outlier filter, and raises NotEnoughData when no first review is usable)."""
    try:
        return valid_parameters(FSRS(DEFAULT_PARAMETERS).compute_parameters(items))
    except ValueError as exc:
        if "NotEnoughData" not in str(exc):
            raise
        return default_parameters()


def default_parameters() -> list[float]:
    return valid_parameters(DEFAULT_PARAMETERS)


def fit(reviews: Sequence[Review], tz: tzinfo, holdout: float) -> FitResult:
    """Fit the candidate's parameters and measure them: the latest `holdout` share of long-term reviews is
    held out, the parameters fitted on the reviews before it and the defaults are both scored on it (each
    held-out review predicted from the card's history before it), and the stored parameters are then fitted
    on everything (the tail included: the candidate's latest reviews are the most telling)."""
    dated = sorted(_items(_histories(reviews, tz)), key=lambda x: x[0])
    items = [item for _, item in dated]
    n_tail = math.ceil(len(items) * holdout) if items else 0
    train, tail = items[:len(items) - n_tail], items[len(items) - n_tail:]
    before = after = rmse_before = rmse_after = None
    if tail and len(train) >= 8:  # fsrs-rs keeps its defaults under 8 items
        default_eval = FSRS(DEFAULT_PARAMETERS).evaluate(tail)
        fitted_eval = FSRS(_fit(train)).evaluate(tail)
        before, rmse_before = float(default_eval.log_loss), float(default_eval.rmse_bins)
        after, rmse_after = float(fitted_eval.log_loss), float(fitted_eval.rmse_bins)
    return FitResult(parameters=_fit(items), reviews=len(reviews), trained=len(train) if before is not None else 0,
                     evaluated=len(tail) if before is not None else 0, log_loss_before=before,
                     log_loss_after=after, rmse_before=rmse_before, rmse_after=rmse_after)


def workload(cards: Sequence[dict[str, Any]], parameters: Sequence[float] | None, retentions: Iterable[float],
             now: datetime, days: int = FORECAST_DAYS, seed: int = 0) -> list[dict[str, float]]:
    """Expected reviews per day over the next `days` days of the candidate's cards, for each desired retention:
    a simulation (seeded, so one log gives one answer) in which each card comes due as the scheduler says and is
    recalled with the probability the same parameters predict (Good when recalled, Again when not). Cards not
    yet made (new questions) are not in it: it is the load of what the candidate has already answered."""
    now = utc(now)
    end = now + timedelta(days=days)
    weights = tuple(parameters) if parameters is not None else tuple(default_parameters())
    out = []
    for retention in retentions:
        retention = min(max(retention, MIN_RETENTION), MAX_RETENTION)
        sched = Scheduler(parameters=weights, desired_retention=retention, enable_fuzzing=False)
        rng = random.Random(seed)
        total = 0
        for raw in cards:
            card = Card.from_dict(raw)
            when = max(utc(card.due), now)
            while when < end:
                recalled = rng.random() < (sched.get_card_retrievability(card, when) if card.last_review else 0.5)
                card, _ = sched.review_card(card, Rating.Good if recalled else Rating.Again, review_datetime=when)
                total += 1
                when = max(utc(card.due), when + timedelta(minutes=1))
        out.append({"retention": round(retention, 4), "per_day": round(total / days, 2)})
    return out
