"""Every setting in one place, read from MIANJING_* environment variables (or a .env file)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.scoring.answers import MAX_OPEN_TEXT_LEN, MAX_READABLE_DEPTH

DEV_SECRET = "dev-insecure-secret-change-me"  # noqa: S105 - refused outside development


def default_judge_site() -> str:
    """Where scripts/setup.sh puts the sandbox's numpy: /opt for root, the checkout for anyone else."""
    if os.geteuid() == 0:
        return "/opt/mianjing-judge/site"
    return str(Path(__file__).resolve().parents[1] / ".judge-site")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MIANJING_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = Field(default="sqlite:///./var/mianjing.db", description="SQLAlchemy URL; postgresql+psycopg://… for PostgreSQL")
    content_dir: Path = Field(default=Path("./content"), description="folder with banks/ and rounds/")
    admin_token: str | None = Field(default=None, description="bearer token for /api/v1/admin; unset = admin API off")
    secret_key: str = Field(default=DEV_SECRET, description="signs session cookies; required outside development")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    thread_pool_size: int = Field(
        default=40, ge=1, le=256, description="threads that run plain-def routes with their database work (anyio's "
        "default); see docs/benchmarks.md for what fewer threads did")
    fair_turns: int = Field(
        default=4, ge=0, le=256, description="requests a worker serves at once, the others waiting their turn by "
        "fair queueing over callers (app/fair_turns.py), so that a caller who keeps the worker busy waits behind "
        "those who do not; 0 switches it off")
    max_body_bytes: int = Field(default=2 * 1024 * 1024, description="requests with a larger body get 413")
    max_import_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024,
        description="a question file uploaded to the admin import (GIFT, Moodle XML, CSV) may be this large; "
                    "every other request keeps MIANJING_MAX_BODY_BYTES")
    request_read_timeout_s: float = Field(
        default=10.0, gt=0, description="a request body that has not fully arrived this long after its headers is "
        "answered 408 and its connection closed")
    keep_alive_timeout_s: int = Field(
        default=5, ge=1, description="uvicorn's timeout_keep_alive: an idle connection is closed after this long")
    limit_concurrency: int = Field(
        default=1000, ge=0, description="uvicorn's limit_concurrency, per worker: beyond this many connections and "
        "tasks at once new requests get 503 at once; 0 = no limit")
    max_header_bytes: int = Field(
        default=16 * 1024, ge=1024, description="the largest request head (request line and headers) uvicorn's h11 "
        "parser accepts; larger heads get 400")
    http_parser: Literal["h11", "httptools"] = Field(
        default="h11", description="uvicorn's HTTP/1.1 parser: h11 enforces max_header_bytes; httptools is faster "
        "but has no limit on the size of a request head")
    max_query_bytes: int = Field(default=8192, ge=256, description="a longer query string gets 414")
    max_query_params: int = Field(
        default=128, ge=8, description="a query string with more parameters gets 414 (the practice form sends one "
        "per ticked bank, topic and type)")
    max_json_depth: int = Field(
        default=32, ge=2, le=MAX_READABLE_DEPTH, description="an answer nested deeper (lists and objects) gets 422")
    max_answer_chars: int = Field(
        default=20_000, ge=100, le=MAX_OPEN_TEXT_LEN,
        description="an answer with more characters (all its strings together) gets 422")
    migrate_on_start: bool = Field(
        default=True, description="apply the migrations at startup under a lock; off = refuse to start unless at head")
    publish_on_start: bool = Field(
        default=False, description="the content folder is the source of truth: a start publishes it even when the "
        "database has another version recorded (otherwise only a first start publishes, and a start whose folder "
        "differs from the recorded version refuses)")
    guest_ttl_days: int = Field(
        default=30, ge=1, description="`mianjing db prune` removes guest accounts (and their data) that nobody kept "
        "and that made no request for this many days")
    reset_link_ttl_minutes: int = Field(
        default=60, ge=1, le=7 * 24 * 60, description="how long a password reset link an admin issues "
        "(POST /api/v1/admin/users/{username}/reset-link, `mianjing user reset-link`) stays valid; it works once")
    new_cards_per_day: int = Field(
        default=20, ge=0, le=100_000, description="new review cards (never reviewed since the answer that made them) "
        "that may fall due on one of the candidate's days, as Anki caps them; the others wait for the next day with "
        "room (app/practice/due.py). 0: new cards never fall due")
    mistake_clear_after_days: int = Field(
        default=2, ge=1, le=30, description="a question leaves the 错题本 when the answers since its last mistake are "
        "all correct and fall on this many different days of the candidate's calendar (app/practice/mistakes.py)")
    # --- the scheduler fitted to each candidate (app/practice/scheduler_fits.py; docs/fsrs-fit.md) ---
    fsrs_fit_min_reviews: int = Field(
        default=1000, ge=16, le=1_000_000, description="reviews (rated answers) a candidate needs before FSRS "
        "parameters are fitted to their log; until then the default parameters. fsrs-rs keeps its defaults when "
        "fewer than 8 items pass its outlier filter and fits only the initial stabilities under 64; on a simulated "
        "candidate fsrs-rs-python 0.9.3 learnt nothing below about 1,000 reviews (docs/fsrs-fit.md)")
    fsrs_fit_every: int = Field(
        default=200, ge=1, le=1_000_000, description="after the first fit, a new one starts in the background once "
        "this many reviews have been added since the last fit started")
    fsrs_fit_holdout: float = Field(
        default=0.2, gt=0, lt=1, description="the share of the candidate's latest long-term reviews held out: "
        "the defaults and the parameters fitted without them are both scored (log loss, RMSE) on them")
    fsrs_fit_timeout_s: float = Field(
        default=300.0, gt=0, description="a fit still running after this long is taken as failed (its process "
        "died), and another may start")
    fsrs_fit_log: Path = Field(default=Path("./var/fsrs-fit.log"), description="the fit processes' output")
    limit_fsrs_fits_per_hour: int = Field(
        default=6, ge=1, description="fits one account may ask for (POST /api/v1/me/scheduler/fit, the dashboard's "
        "button) in any hour; the automatic ones are not counted")
    content_poll_s: float = Field(
        default=0.25, gt=0, description="how often a worker reads the published content version")
    content_poll_backoff_max_s: float = Field(
        default=30.0, gt=0, description="a failing poll is logged once and retried with exponential backoff up to this")
    # --- limits for an open service (docs/security.md); the defaults fit a classroom behind one NAT address ---
    trusted_proxies: str = Field(
        default="", description="comma-separated addresses or networks (or *) of reverse proxies whose "
        "X-Forwarded-For / X-Forwarded-Proto uvicorn believes; empty: nobody's, every limit counts the peer address")
    limit_guests_per_hour: int = Field(default=100, ge=1, description="guest accounts one client address may create "
                                       "in any hour (API, /start, /guest together)")
    limit_registrations_per_hour: int = Field(default=100, ge=1, description="accounts one client address may "
                                              "register in any hour (API and page together)")
    limit_interviews_per_day: int = Field(default=50, ge=1, description="interviews one account may start in any "
                                          "24 hours (abandoned ones count)")
    limit_login_free_failures: int = Field(default=5, ge=1, description="failed logins per account and client "
                                           "address before the back-off starts")
    limit_login_backoff_seconds: float = Field(default=1.0, gt=0, description="the wait after the first failure "
                                               "past the free ones; it doubles with each further failure")
    limit_login_backoff_max_seconds: float = Field(default=900.0, gt=0, description="the longest wait between two "
                                                   "guesses of one account from one address")
    limit_login_failures_per_address_per_hour: int = Field(
        default=200, ge=1, description="failed logins one client address may make in any hour, whatever the account")
    limit_logins_per_address_per_hour: int = Field(
        default=1000, ge=1, description="successful logins one client address may make in any hour, whatever the "
        "account: each one stores a session for 30 days")
    limit_code_runs_per_minute: int = Field(
        default=12, ge=1, description="code submissions and example runs one account may send to the judge in "
        "any minute")
    limit_problem_reports_per_hour: int = Field(
        default=20, ge=1, description="纠错 problem reports (POST /api/v1/questions/{id}/reports) one account may "
        "file in any hour")
    problem_report_max_chars: int = Field(
        default=2000, ge=1, le=100_000, description="the longest comment a problem report or an admin's resolution "
        "note may carry; a longer one gets 422")
    # --- the code judge (app/judge; docs/judge.md) ---
    judge_enabled: bool = Field(default=True, description="false: code items answer 503 (switched off)")
    judge_socket: Path = Field(default=Path("./var/judge.sock"), description="the machine's judge process "
                               "listens here; the first code check starts it")
    judge_concurrency: int = Field(
        default=max(1, (os.cpu_count() or 2) - 1), ge=1, le=64, description="sandboxes running at once (cores - 1)")
    judge_cpu_share: float = Field(
        default=0.6, ge=0, le=1, description="CPU the judge and its sandboxes may use, per sandbox slot, as a share of "
        "one core (a cgroup quota, where the service may set one: root); 0 = no quota, nice 19 only. Measured: "
        "other users' p99 beside a saturated judge 2-3x idle without it (docs/benchmarks.md)")
    judge_queue: int = Field(default=16, ge=1, le=1000, description="jobs admitted (running or waiting); past them "
                             "a code check gets 429 with Retry-After")
    judge_idle_exit_s: float = Field(default=900.0, gt=0, description="the judge process exits after this long "
                                     "without a job")
    judge_python: str = Field(default="/usr/bin/python3", description="the sandbox's interpreter (world-readable, "
                              "under /usr: the sandbox sees only /usr and the judge's site folder)")
    judge_site: str = Field(default_factory=lambda: default_judge_site(), description="numpy for the sandbox, installed by "
                            "scripts/setup.sh; mounted read-only at /judge/site")
    limit_interviews_per_address_per_hour: int = Field(
        default=500, ge=1, description="interviews one client address may start in any hour, whatever the account "
        "(a class of 100 starting five 15-minute rounds each)")
    # --- write quotas (app/write_quotas.py): what one account, and one address, may store ---
    limit_writes_per_minute: int = Field(
        default=120, ge=1, description="answer-carrying writes (autosaves, signed-in checks, self-ratings) one "
        "account may make in a clock minute (the browser autosaves at most every 0.8 s while typing: 75)")
    limit_writes_per_address_per_minute: int = Field(
        default=6000, ge=1, description="the same writes one client address may make in a clock minute, whatever "
        "the account (a class of 100 behind one NAT address, each saving every second)")
    limit_answer_chars_per_hour: int = Field(
        default=200_000, ge=1, description="characters of answer text (as JSON) one account may add to what is "
        "stored in a clock hour: a check counts its answer, an autosave what it adds to the answer it replaces; at "
        "least 6 × max_answer_chars + 2")
    limit_answer_chars_per_address_per_hour: int = Field(
        default=5_000_000, ge=1, description="the same characters one client address may add in a clock hour, "
        "whatever the account (many guests of one client are bounded together)")

    # --- bookmarks and notes (app/practice/marks.py); their writes count against the write quotas above ---
    max_note_chars: int = Field(
        default=4000, ge=1, le=100_000, description="a personal note on a question with more characters gets 422; "
        "a note counts its characters against limit_answer_chars_per_hour (a note larger than that quota is 422 too)")

    # --- the model grader (app/runtime/grader.py; docs/security.md: answers leave the machine) ---
    grader_url: str = Field(
        default="", description="base URL of an OpenAI-compatible chat-completions server (vLLM, llama.cpp's "
        "server, Ollama: http://host:port/v1) that grades open answers; empty = the built-in grader only. Set, "
        "every open answer is sent there, and the pages say so")
    grader_model: str = Field(default="", description="the model name the grading server is asked for; "
                              "required with grader_url")
    grader_api_key: SecretStr | None = Field(default=None, description="bearer token for the grading server, "
                                             "if it wants one")
    grader_timeout_s: float = Field(default=5.0, gt=0, le=600, description="the longest one grading request "
                                    "may take (the whole exchange); then the built-in grade")
    grader_finish_budget_s: float = Field(
        default=20.0, gt=0, le=600, description="the time an interview's finish may spend grading its open "
        "answers with the model, all together (they are graded at once); answers not graded by then get the "
        "built-in grade")
    grader_concurrency: int = Field(default=8, ge=1, le=64, description="grading requests one finish sends at "
                                    "once")
    grader_backoff_max_s: float = Field(
        default=60.0, gt=0, description="after the grading server fails (timeout, connection, HTTP status) it "
        "is not asked for a second, then twice as long after each further failure, up to this; a failure "
        "class is logged once per such pause")
    grader_response_format: Literal["json_schema", "json_object", "none"] = Field(
        default="json_schema", description="the response_format asked for: json_schema (vLLM, llama.cpp, "
        "Ollama, OpenAI), json_object, or none for a server that refuses both; the reply is validated anyway")

    @model_validator(mode="after")
    def _grader_needs_a_model(self) -> Settings:
        if self.grader_url:
            if not self.grader_url.startswith(("http://", "https://")):
                raise ValueError("MIANJING_GRADER_URL must be an http:// or https:// URL")
            if not self.grader_model.strip():
                raise ValueError("MIANJING_GRADER_MODEL must name the model when MIANJING_GRADER_URL is set")
        return self

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        # A default signing key in production would let anyone forge sessions.
        if self.env == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("MIANJING_SECRET_KEY must be set when MIANJING_ENV=production")
        return self

    @model_validator(mode="after")
    def _quotas_hold_one_answer(self) -> Settings:
        # A quota smaller than the longest typed answer would refuse that answer in every window, however long
        # its author waited. The quotas count an answer as JSON text: the longest text answer, every character
        # escaped (\u0001 is six), and its two quotes.
        longest = 6 * self.max_answer_chars + 2
        for name in ("limit_answer_chars_per_hour", "limit_answer_chars_per_address_per_hour"):
            if getattr(self, name) < longest:
                raise ValueError(f"MIANJING_{name.upper()} must be at least 6 × MIANJING_MAX_ANSWER_CHARS + 2 "
                                 f"({longest})")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
