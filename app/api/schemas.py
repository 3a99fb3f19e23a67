"""Response and request models: the public shapes. Nothing here can carry a correct answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class OptionPublic(BaseModel):
    key: str
    text: str
    text_html: str


class QuestionPublic(BaseModel):
    id: str
    bank: str
    type: str
    title: str
    prompt: str
    prompt_html: str
    options: list[OptionPublic] = []
    topics: list[str]
    tags: list[str]
    difficulty: int
    source: str
    followups: list[str]
    unit: str | None = None
    order: str | None = None
    batch_optional: bool = False
    accepts_suffixes: bool = False
    seed: int | None = None
    generator: str | None = None
    params: dict[str, Any] | None = None


class QuestionPage(BaseModel):
    items: list[QuestionPublic]
    total: int
    limit: int
    offset: int


class BankPublic(BaseModel):
    id: str
    title: str
    description: str
    question_count: int


class TopicCount(BaseModel):
    topic: str
    count: int


class CheckRequest(BaseModel):
    answer: Any = Field(description='the answer: an option key ("B"), keys (["A","C"] or "A,C"), a number or text')
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1, description="the instance seed, for generated items")


class CheckResponse(BaseModel):
    score: float
    correct: bool
    expected: Any
    feedback: str
    explanation_html: str
    details: dict[str, Any]


class SectionPublic(BaseModel):
    title: str
    minutes: float
    question_count: int
    guidance_html: str


class RoundPublic(BaseModel):
    id: str
    title: str
    description: str
    duration: float
    question_count: int
    sections: list[SectionPublic]


class ErrorResponse(BaseModel):
    detail: str
