"""Response and request models: the public shapes. Nothing here can carry a correct answer."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from app.scoring.answers import has_lone_surrogate


def _json_number(value: Any) -> Any:
    if isinstance(value, (bool, str)):
        raise ValueError("must be a JSON integer, not a string or true/false")
    return value


# For an integer in a JSON body, after its Field(...) constraints (before them, the constraints vanish from
# the OpenAPI): 3 and 3.0 are integers (JSON Schema); true and "3" are not, though pydantic's lax mode
# would take them as 1 and 3.
JSON_INT = BeforeValidator(_json_number)


def _real_text(value: Any) -> Any:
    todo = [value]
    while todo:
        v = todo.pop()
        if isinstance(v, str):
            if has_lone_surrogate(v):
                raise ValueError("contains a lone surrogate (a \\ud800-\\udfff escape), which is not text")
        elif isinstance(v, list):
            todo.extend(v)
        elif isinstance(v, dict):
            todo.extend(v)
            todo.extend(v.values())
    return value


# Answers carrying a lone surrogate anywhere would be neither stored (PostgreSQL) nor echoed back in UTF-8
# feedback: they are refused as the bad input they are.
Answer = Annotated[Any, AfterValidator(_real_text)]


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
    answer: Answer = Field(description='the answer: an option key ("B"), keys (["A","C"] or "A,C"), a number or text')
    seed: Annotated[int, Field(ge=0, le=2**31 - 1), JSON_INT] | None = Field(
        default=None, description="the instance seed, for generated items")


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


class ValidationErrorResponse(BaseModel):
    """What a 422 looks like (app.errors): a readable summary plus the individual problems."""

    detail: str
    errors: list[dict[str, Any]] = []


# Declared on every router with parameters: FastAPI's default 422 schema (HTTPValidationError) does not
# describe what app.errors sends, and an unparseable JSON body gets a 400.
REQUEST_ERRORS = {
    400: {"model": ErrorResponse, "description": "the request body is not parseable"},
    422: {"model": ValidationErrorResponse, "description": "invalid parameters"},
}
