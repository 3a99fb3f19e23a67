"""Every setting in one place, read from MIANJING_* environment variables (or a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.scoring.answers import MAX_OPEN_TEXT_LEN, MAX_READABLE_DEPTH

DEV_SECRET = "dev-insecure-secret-change-me"  # noqa: S105 - refused outside development


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
    max_body_bytes: int = Field(default=2 * 1024 * 1024, description="requests with a larger body get 413")
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

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        # A default signing key in production would let anyone forge sessions.
        if self.env == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("MIANJING_SECRET_KEY must be set when MIANJING_ENV=production")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
