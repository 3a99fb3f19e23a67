"""Response and request models: the public shapes. Nothing here can carry a correct answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from app.limits import current_limits
from app.pagination import COUNT_ID, CURSOR_HELP, HEX_ID, INT_ID, INVALID_CURSOR, MAX_LIMIT, CursorKind
from app.scoring.answers import answer_problem


def _json_number(value: Any) -> Any:
    if isinstance(value, (bool, str)):
        raise ValueError("must be a JSON integer, not a string or true/false")
    return value


# For an integer in a JSON body, after its Field(...) constraints (before them, the constraints vanish from
# the OpenAPI): 3 and 3.0 are integers (JSON Schema); true and "3" are not, though pydantic's lax mode
# would take them as 1 and 3.
JSON_INT = BeforeValidator(_json_number)


def _answer(value: Any) -> Any:
    limits = current_limits.get()
    problem = answer_problem(value, max_depth=limits.max_json_depth, max_chars=limits.max_answer_chars)
    if problem:
        raise ValueError(f"the answer {problem}")
    return value


# The one free-form value a client sends, and the service stores and sends back: refused when a string in
# it is no text (a NUL or a lone surrogate: neither PostgreSQL nor a UTF-8 response takes it), when it is
# nested deeper than MIANJING_MAX_JSON_DEPTH (a stored answer nested past orjson's 255 levels made every
# later read of it a 500), or longer than MIANJING_MAX_ANSWER_CHARS.
Answer = Annotated[Any, AfterValidator(_answer)]


# Times go out as the ISO 8601 strings the routes make (datetime.isoformat(), with the +00:00 offset);
# the schema says so, and a generated client reads them as datetimes.
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


# --- keyset pages (app.pagination) -------------------------------------------------------------------


def cursor_param(kind: CursorKind) -> Any:
    """The `cursor` query parameter of a list whose keys are `kind`: its pattern in the schema is exactly
    the set of valid cursors; anything else is a 422 that says what to send."""

    def check(value: Any) -> Any:
        if value is not None and not (isinstance(value, str) and kind.matches(value)):
            raise PydanticCustomError("invalid_cursor", INVALID_CURSOR)
        return value

    return Annotated[str | None, Query(pattern=kind.pattern, description=CURSOR_HELP), BeforeValidator(check)]


def next_cursor(kind: CursorKind) -> Any:
    """The type of a page's `next`: a cursor of `kind`, or null."""
    return Annotated[str, Field(pattern=kind.pattern)] | None


PageLimit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"items per page, at most {MAX_LIMIT}")]
NEXT_HELP = "the cursor of the next page (send it as `cursor`); null on the last page"
IntCursor, IntNext = cursor_param(INT_ID), next_cursor(INT_ID)
HexCursor, HexNext = cursor_param(HEX_ID), next_cursor(HEX_ID)
CountCursor, CountNext = cursor_param(COUNT_ID), next_cursor(COUNT_ID)


class OptionPublic(BaseModel):
    key: str
    text: str
    text_html: str


class QuestionPublic(BaseModel):
    """A question's public view (app.views.question_view), fields in the order it sends them."""

    id: str
    bank: str
    type: str
    title: str
    options: list[OptionPublic]
    topics: list[str]
    tags: list[str]
    difficulty: int
    source: str
    followups: list[str]
    scored: bool = Field(description="false for what is asked but never marked (a self-introduction, 反问, a "
                         "description): it is never scored (a check is a 409), its reference never revealed, "
                         "it is never scheduled or offered in practice, and it counts towards no score or total")
    unit: str | None
    order: str | None
    batch_optional: bool
    accepts_suffixes: bool
    seed: int | None = Field(description="the instance seed of a generated item; send it back with the answer")
    generator: str | None
    params: dict[str, Any] | None
    prompt: str
    prompt_html: str
    code: CodePublic | None = Field(default=None, description="code items: what the editor needs")
    matching: MatchingPublic | None = Field(default=None, description="matching items: what to match (answer "
                                            '{"left text": "right text", …})')
    self_rated: bool = Field(default=False, description="open items without key points (imported essays): no "
                             "grader verdict; the candidate's own rating is the only grade")


class MatchText(BaseModel):
    text: str = Field(description="send this text in the answer")
    text_html: str


class MatchingPublic(BaseModel):
    """A matching item's public part. True/false items are choices with options T and F (answer true/false or
    "T"/"F"); short-answer items are answered with text and have nothing more here."""

    left: list[MatchText] = Field(description="the items to match, in bank order")
    right: list[MatchText] = Field(description="the texts to choose from for each, distractors included, in an "
                                   "order fixed per question (not the lefts' order)")


class CodePublic(BaseModel):
    """A code item's public part: never its reference implementation or its tests."""

    entry: str = Field(description="the function to implement")
    starter: str = Field(description="the stub the editor opens with")
    time_limit_s: float = Field(description="CPU seconds for the whole submission, every case together")
    memory_mb: int


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
    answer: Answer = Field(description='the answer: an option key ("B"), keys (["A","C"] or "A,C"), a number or '
                           'text; true/false (or "T"/"F") for a true/false item; {"left": "right", …} for a '
                           "matching item")
    seed: Annotated[int, Field(ge=0, le=2**31 - 1), JSON_INT] | None = Field(
        default=None, description="the instance seed, for generated items")


class KeypointHit(BaseModel):
    """The grader's verdict on one key point (results stored before claims carry only label, hit, matched, how)."""

    label: str
    hit: bool = Field(description="covered or named")
    matched: str | None
    how: str | None = Field(description="exact | fuzzy | statement | model (the model grader's verdict; older "
                                        "results: substring)")
    verdict: Literal["covered", "named", "contradicted", "missing"] | None = Field(
        default=None, description="named: only listed, half credit; contradicted: the answer states the opposite")
    statement: str | None = Field(default=None, description="the claim the key point checks")
    evidence: str | None = Field(default=None, description="the clause of the answer that decided (normalised: "
                                 "lower case, no spaces beside Chinese characters); none for a missing point")
    weight: float | None = None


class MisconceptionFound(BaseModel):
    label: str
    statement: str
    evidence: str | None = Field(description="the clause that asserts it; null when the model grader found it")


class FeedbackCode(BaseModel):
    """One piece of feedback as data; clients render it in their reader's language."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="open_coverage {covered, named, total}; open_contradicted, open_named, "
                      "open_missing {points: key-point labels}; misconception {label, statement, cap: the "
                      "score's cap}; grader_fallback {reason}: the configured model grader did not decide, the built-in one "
                      "did; self_rated: an open item without key points, graded by the candidate's rating alone. "
                      "Other codes may follow: skip the ones you do not know")


class CheckDetails(BaseModel):
    """What the score rests on. Open items: the fields below; other types: their own (`chosen` and `correct`
    keys, `dims`, `seed` and `params`, or an `error` for an unreadable answer)."""

    model_config = ConfigDict(extra="allow")

    keypoints: list[KeypointHit] | None = Field(default=None, description="open items: one verdict per key point")
    misconceptions: list[MisconceptionFound] | None = Field(
        default=None, description="open items: the misconceptions the answer asserts (each caps the score)")
    coverage: float | None = Field(default=None, description="open items: weighted key-point credit, before the cap")
    grader: str | None = Field(default=None, description='open items: which grader decided, "builtin" or "model:<model>"')
    judge: CodeVerdict | None = Field(default=None, description="code items: the per-case verdicts")
    option_feedback: dict[str, str] | None = Field(
        default=None, description="choice and true/false items: the author's feedback (markdown) for each chosen "
                                  "option that has some")
    answer_feedback: str | None = Field(default=None, description="short-answer and numeric items with several "
                                        "answers: the feedback (markdown) of the accepted answer matched")
    fraction: float | None = Field(default=None, description="the credit of the accepted answer matched")
    matched: int | None = Field(default=None, description="the position (from 0) of the accepted answer matched")
    pairs: list[PairVerdict] | None = Field(default=None, description="matching items: one verdict per left item")
    self_rated: bool | None = Field(default=None, description="a self-rated open item: no key points; rate it "
                                    "yourself")


class PairVerdict(BaseModel):
    left: str
    given: str | None = Field(description="the right text chosen; null when left unanswered")
    expected: str
    ok: bool


class CaseVerdict(BaseModel):
    """One case of a code submission. Shown cases (`kind` example) carry input, expected, actual and the error's
    line; hidden and random ones only their label and status, and of an error only its type."""

    model_config = ConfigDict(extra="allow")

    kind: str = Field(description="example | hidden | random")
    label: str
    status: str = Field(description="passed | wrong_answer | runtime_error | time_limit | memory_limit | "
                        "output_limit | not_run")
    ms: float | None = Field(description="wall time of this case inside the sandbox")
    input: str | None = None
    expected: str | None = None
    actual: str | None = None
    reason: str | None = None
    error: dict[str, Any] | None = None


class CodeVerdict(BaseModel):
    status: str = Field(description="accepted | compile_error | the first failing case's status")
    passed: int
    total: int
    score: float
    cases: list[CaseVerdict]
    error: dict[str, Any] | None = Field(default=None, description="compile_error: the syntax error or missing "
                                         "function, with its line")
    stdout: str | None = Field(default=None, description="example runs: what the code printed (64 KiB at most)")
    wall_ms: float
    cpu_ms: float


class CodeRunRequest(BaseModel):
    source: str = Field(max_length=100_000, description="the Python source")


class CodeRunResponse(BaseModel):
    verdict: CodeVerdict


class CheckReview(BaseModel):
    """A signed-in caller's recorded attempt and the review card it updated. An open item's card is scheduled
    only from the candidate's own rating: without `rating` in the check, `rating` and `due` are null until
    POST /me/reviews/{question_id}/rating gives it."""

    attempt_id: int
    rating: str | None = Field(
        description="the rating that scheduled the card: from the score for objective items, the candidate's own "
                    "for open ones (null: not given yet, the card waits)")
    proposed: str | None = Field(
        description="the rating the score suggests (for an open item: its key-point coverage); the candidate decides. "
                    "Null for a self-rated open item (no key points: the candidate's rating is its only grade)")
    due: Timestamp | None = Field(description="the card's next review; null while an open answer waits for its rating")
    suspended: bool = Field(default=False, description="the card is a leech (lapsed as often as my leech_lapses "
                            "setting) and suspended: never due until I resume it (POST /me/leeches/{question_id}/resume)")
    lapses: int = Field(default=0, description="how often the card was forgotten after it had been learned")


class Leech(BaseModel):
    question_id: str
    title: str
    bank: str
    type: str
    lapses: int
    suspended_at: Timestamp
    url: str


class LeechList(BaseModel):
    """My suspended leeches, the most recently suspended first (bounded by the content: one card per question)."""

    items: list[Leech]


class CheckResponse(BaseModel):
    score: float
    correct: bool = Field(description="objective items: fully right; open items: key-point coverage of 0.6 or "
                          "more (pages show the coverage instead, never right or wrong)")
    expected: Any
    feedback: str = Field(description="one plain sentence in Chinese; `codes` is the same feedback as data")
    reference_html: str | None = Field(description="open items: the reference answer (`expected`, markdown) "
                                       "rendered as the prompt is; null for the others, whose `expected` is a value")
    explanation_html: str
    details: CheckDetails
    codes: list[FeedbackCode] = Field(default_factory=list, description='feedback codes with arguments, e.g. '
                                      '{"code": "open_contradicted", "points": ["…"]}; open items so far')
    option_feedback_html: dict[str, str] = Field(
        default_factory=dict, description="details.option_feedback rendered (markdown, math for KaTeX)")
    answer_feedback_html: str | None = Field(default=None, description="details.answer_feedback rendered")
    review: CheckReview | None = Field(default=None, description="signed-in callers only")


_MAIN = "main questions asked (follow-ups not counted)"
_FOLLOWUPS_MIN = ("fewest follow-ups (追问) the main questions bring: exact for fixed questions, a range where "
                  "questions are picked when the interview starts")
_FOLLOWUPS_MAX = "most follow-ups the main questions bring (equal to followups_min when nothing is picked)"


class SectionPublic(BaseModel):
    title: str
    minutes: float
    question_count: int = Field(description=_MAIN)
    followups_min: int = Field(description=_FOLLOWUPS_MIN)
    followups_max: int = Field(description=_FOLLOWUPS_MAX)
    guidance_html: str


class RoundPublic(BaseModel):
    id: str
    title: str
    description: str
    duration: float
    question_count: int = Field(description=_MAIN)
    followups_min: int = Field(description=_FOLLOWUPS_MIN)
    followups_max: int = Field(description=_FOLLOWUPS_MAX)
    sections: list[SectionPublic]
    needs_judge: bool = Field(default=False, description="it asks code items (judged in a sandbox)")
    unavailable: str | None = Field(default=None, description="why it cannot start here (no sandbox for its code "
                                    "items); null when it can")


class ErrorResponse(BaseModel):
    detail: str


class ValidationErrorResponse(BaseModel):
    """What a 422 looks like (app.errors): a readable summary plus the individual problems."""

    detail: str
    errors: list[dict[str, Any]] = []


ERROR_RESPONSES: dict[int, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "the request body is not parseable"},
    401: {"model": ErrorResponse, "description": "authentication required: no valid token or session"},
    403: {"model": ErrorResponse, "description": "a cookie session without the page's X-CSRF-Token header"},
    404: {"model": ErrorResponse, "description": "not found"},
    409: {"model": ErrorResponse, "description": "not possible in the current state"},
    413: {"model": ErrorResponse, "description": "request body too large"},
    414: {"model": ErrorResponse, "description": "query string too long, or too many query parameters"},
    422: {"model": ValidationErrorResponse, "description": "invalid parameters"},
    429: {"model": ErrorResponse, "description": "too many attempts; see Retry-After"},
}


def links(status: int, **targets: tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], Any],
          ) -> dict[int | str, dict[str, Any]]:
    """OpenAPI links of this operation's `status` response, name=(operationId, parameters[, requestBody]):
    where a client (and schemathesis' stateful tests) may go next with what the response holds, e.g.
    {"interview_id": "$response.body#/id"}."""
    out: dict[str, Any] = {}
    for name, (op, params, *body) in targets.items():
        out[name] = {"operationId": op, "parameters": params, **({"requestBody": body[0]} if body else {})}
    return {status: {"links": out}}


def errors(*codes: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` for these error statuses, each with its model; `described` ("e404": "no
    such interview") gives a status a description of its own."""
    out: dict[int | str, dict[str, Any]] = {code: ERROR_RESPONSES[code] for code in codes}
    for key, description in described.items():
        code = int(key.removeprefix("e"))
        out[code] = {**ERROR_RESPONSES[code], "description": description}
    return out


def as_json(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """Error responses stated as JSON for a route whose own response is not (a CSV download: FastAPI would
    give a `model` the route's media type)."""
    return {code: {"description": r["description"],
                   "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{r['model'].__name__}"}}}}
            if "model" in r else r for code, r in responses.items()}


# Declared on every router with parameters: FastAPI's default 422 schema (HTTPValidationError) does not
# describe what app.errors sends, and an unparseable JSON body gets a 400. Any /api route answers 422 to a
# repeated query parameter or a NUL in its URL, and 414 to a query string over the limits (app.limits).
REQUEST_ERRORS = errors(400, 414, 422)
# Every request that may carry a body (POST, PUT, DELETE) may be refused for its size (app.limits).
WRITE_ERRORS = errors(413)
# A state-changing request as a logged-in user: no valid credentials (401), or a session cookie without
# the CSRF header (403).
AUTH_WRITE_ERRORS = errors(401, 403, 413)


# --- the caller's own data (/me) ------------------------------------------------------------------------


class DueReview(BaseModel):
    question_id: str
    title: str
    bank: str
    type: str
    topics: list[str]
    due: Timestamp
    last_rating: str | None
    url: str = Field(description="the question's public view")


class DueReviewPage(BaseModel):
    """A page of the reviews due today (before the end of my day), most overdue first (how many are due:
    GET /me/stats, `due_now`, the forecast's first day)."""

    items: list[DueReview]
    next: IntNext = Field(description=NEXT_HELP)


class ReviewRated(BaseModel):
    question_id: str
    rating: str | None
    due: Timestamp


class TopicMastery(BaseModel):
    topic: str
    mastery: float = Field(description="mean of the latest score of each attempted question, 0 to 1")
    questions: int
    attempts: int


class RecentInterview(BaseModel):
    id: str
    round: str
    title: str
    state: str
    score: float | None
    started_at: Timestamp
    finished_at: Timestamp | None


class Dashboard(BaseModel):
    generated_at: Timestamp
    attempts: int
    questions_attempted: int
    mastery: list[TopicMastery]
    weakest_topics: list[TopicMastery]
    activity: dict[str, int] = Field(description="ISO date -> attempts that day, the last 365 days")
    forecast: dict[str, int] = Field(description="ISO date -> reviews falling due that day, the next 14 days")
    recent_interviews: list[RecentInterview]
    desired_retention: float
    due_now: int = Field(description="reviews due today (before the end of my day): GET /me/reviews/due lists "
                                     "them, and the forecast's first day counts the same")


class AccountSettings(BaseModel):
    desired_retention: float
    leech_lapses: int = Field(description="lapses that make a card a leech and suspend it (Anki's default, 8); "
                                          "again every half as many after I resume it")
    timezone: str | None = Field(description="the IANA zone my days are counted in (due reviews, the forecast, the "
                                             "activity calendar), as my browser reported it; null: not known, UTC")


class AttemptRecord(BaseModel):
    """One answered question: from the check endpoint (source "practice") or a finished interview."""

    id: int
    created_at: Timestamp
    question_id: str
    question_title: str | None = Field(description="null when the question is gone from the content")
    seed: int | None
    answer: Any
    score: float
    correct: bool
    rating: str | None = Field(description="the rating the review card got: again | hard | good | easy")
    source: Literal["practice", "interview"]
    interview_id: str | None


class MistakeAnswer(BaseModel):
    """One of my answers as the 错题本 shows it."""

    attempt_id: int
    created_at: Timestamp
    answer: Any = Field(description="what I answered; null when stored in a shape this version cannot read")
    score: float
    rating: str | None
    source: Literal["practice", "interview"]
    interview_id: str | None
    seed: int | None = Field(description="the instance of a generated item")


class Mistake(BaseModel):
    """A question I got wrong (DESIGN: an objective item below full marks, an open one rated Again or covered
    below 0.6), with my last mistake and my latest answer beside the reference."""

    question_id: str
    title: str
    bank: str
    type: str
    topics: list[str]
    wrong: int = Field(description="how many of my answers to it were mistakes")
    answered: int = Field(description="how many times I answered it")
    first_wrong_at: Timestamp
    last_wrong: MistakeAnswer
    latest: MistakeAnswer
    expected: Any = Field(description="the reference answer of the last mistake's instance (an option key, "
                                      "keys, a number, a shape, the reference text); null for code items")
    correct_days: int = Field(description="days with a correct answer since the last mistake")
    cleared_at: Timestamp | None = Field(description="when it left the list (correct on enough different "
                                                     "days since its last mistake); null while it is in it")
    rounds: list[str] = Field(description="the rounds in which it went wrong")
    url: str


class MistakePage(BaseModel):
    """A page of my 错题本, most often wrong first (sort=often) or latest mistake first (sort=recent)."""

    items: list[Mistake]
    next: CountNext = Field(description=NEXT_HELP)


class PasswordChanged(BaseModel):
    sessions_ended: int = Field(description="my other sessions and tokens, ended by the change (this one stays)")


class AccountDeleted(BaseModel):
    """What was deleted with the account: every row of it, on the server's database."""

    interviews: int
    answers: int = Field(description="interview answers")
    attempts: int
    review_cards: int
    marks: int = Field(description="bookmarks and notes")
    sessions: int


class ResetLink(BaseModel):
    url: str = Field(description="the page that sets a new password; it works once, until `expires_at`")
    expires_at: Timestamp


class ArchiveSettings(BaseModel):
    desired_retention: float
    leech_lapses: int = 8
    timezone: str | None


class ArchiveAccount(BaseModel):
    id: int
    username: str | None
    is_guest: bool
    is_admin: bool
    created_at: Timestamp
    last_seen_at: Timestamp | None
    settings: ArchiveSettings


class ArchiveAnswer(BaseModel):
    position: int
    question_id: str | None
    question_title: str | None
    section: str | None
    followup_of: str | None = Field(description="the id of the question this one follows up (追问)")
    answer: Any
    score: float | None
    result: dict[str, Any] | None = Field(description="the scored result as stored (feedback codes, key points)")
    self_rating: str | None
    saved_at: Timestamp
    first_seen_at: Timestamp | None
    time_spent_ms: int


class ArchiveInterview(BaseModel):
    id: str
    round_id: str
    round_title: str
    content_version: str
    state: str
    started_at: Timestamp
    deadline: Timestamp
    finished_at: Timestamp | None
    score: float | None
    question_count: int
    shared: bool = Field(description="a share link is out (the link itself is not in the archive)")
    answers: list[ArchiveAnswer]


class ArchiveCard(BaseModel):
    question_id: str
    due: Timestamp
    last_review: Timestamp | None
    last_rating: str | None
    reps: int
    lapses: int
    first_review_at: Timestamp | None
    suspended_at: Timestamp | None = Field(default=None, description="when it was suspended as a leech; null: it is not")
    fsrs: dict[str, Any] = Field(description="the FSRS card (fsrs.Card.to_dict())")


class ArchiveMark(BaseModel):
    question_id: str
    starred: bool
    starred_at: Timestamp | None
    note: str | None = Field(description="my note, markdown as written")
    updated_at: Timestamp


class ArchiveProblemReport(BaseModel):
    id: int
    question_id: str
    content_version: str
    kind: str
    comment: str
    answer: Any
    state: str
    created_at: Timestamp
    resolved_at: Timestamp | None
    resolution_note: str | None


class ArchiveSchedulerFit(BaseModel):
    state: str
    parameters: list[float] | None
    fitted_at: Timestamp | None
    reviews_at_fit: int
    metrics: dict[str, Any] | None
    error: str | None


class AccountArchive(BaseModel):
    """Everything the server holds of my account (app.practice.export.archive_chunks), no secrets."""

    format: Literal["mianjing-archive/1"]
    exported_at: Timestamp
    account: ArchiveAccount
    interviews: list[ArchiveInterview]
    attempts: list[AttemptRecord]
    review_cards: list[ArchiveCard]
    marks: list[ArchiveMark] = Field(description="my bookmarks and notes")
    problem_reports: list[ArchiveProblemReport] = Field(default=[], description="my 纠错 reports")
    scheduler: ArchiveSchedulerFit | None = Field(default=None, description="my fitted FSRS parameters; null: "
                                                  "never fitted (the defaults)")


class AttemptPage(BaseModel):
    """A page of my attempts, newest first."""

    items: list[AttemptRecord]
    next: IntNext = Field(description=NEXT_HELP)


class ExportRecord(BaseModel):
    """One row of the export (app.practice.service.EXPORT_FIELDS): an attempt or an interview."""

    kind: Literal["attempt", "interview"]
    id: int | str
    created_at: Timestamp
    question_id: str | None
    question_title: str | None
    seed: int | None
    answer: Any
    score: float | None
    correct: bool | None
    rating: str | None
    source: str | None
    interview_id: str | None
    round_id: str | None
    round_title: str | None
    state: str | None
    finished_at: Timestamp | None
    answer_unreadable: bool | None = Field(
        default=None, description="attempts: the answer was stored nested too deeply to be sent, and `answer` is "
        "null (older versions took any nesting)")


# --- practice ---------------------------------------------------------------------------------------------


class PracticeReason(BaseModel):
    reason: Literal["due", "new", "ahead", "random"]
    due: Timestamp | None
    weak_topics: list[str]


class PracticeQuestion(QuestionPublic):
    practice: PracticeReason = Field(description="why this question was chosen")


# --- admin and health -------------------------------------------------------------------------------------


class ReloadResult(BaseModel):
    version: str
    previous_version: str
    questions: int
    banks: int
    rounds: int
    added: list[str]
    removed: list[str]
    changed: list[str]
    seconds: float


class ImportNotePublic(BaseModel):
    where: str = Field(description="file:line:column, `file: row R, column C` (CSV), or the file")
    line: int
    column: int
    row: int
    field: str
    message: str


class ImportChanges(BaseModel):
    added: list[str]
    changed: list[str]
    removed: list[str]


class ImportPreviewResult(BaseModel):
    """What an import would publish: counts per type, what is skipped and why, what is not carried."""

    bank: str
    format: str
    file: str
    ok: bool
    imported: dict[str, int] = Field(description="questions per type")
    questions: int
    skipped: list[ImportNotePublic]
    warnings: list[ImportNotePublic]
    errors: list[dict[str, Any]] = Field(description="the file's errors and the content tree's, each with `where`")
    assets: list[str]
    digest: str | None = Field(description="what publish takes to publish exactly this preview; null when not ok")
    changes: ImportChanges | None = Field(description="ids the publish adds, changes and removes")
    markdown: str = Field(description="the bank as it would be written (content/FORMAT.md)")
    detail: str | None = Field(default=None, description="on a 422: what went wrong, in a sentence")


class ImportPublishResult(ReloadResult):
    bank: str
    digest: str


class ReloadLogEntry(BaseModel):
    at: Timestamp
    actor: str
    version_before: str | None
    version_after: str | None
    ok: bool
    detail: dict[str, Any]


class Health(BaseModel):
    status: str


class GraderInfo(BaseModel):
    """Who grades open answers."""

    name: str = Field(description='"builtin", or "model:<model>" when a grading service is configured; what '
                                  "details.grader of a result says when that grader decided")
    model: str | None = Field(description="the grading service's model; null for the built-in grader")
    sends_open_answers: bool = Field(description="open answers are sent to the configured grading service "
                                                 "(MIANJING_GRADER_URL) to be graded")


class JudgeInfo(BaseModel):
    available: bool
    reason: str = Field(default="", description="why not, when not (bubblewrap's own message, say)")
    cpu: str | None = Field(default=None, description="the judge's CPU quota (MIANJING_JUDGE_CPU_SHARE), as applied")


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    database: bool
    schema_revision: str | None = Field(description="the database's Alembic revision; null when unreadable")
    schema_head: str = Field(description="the revision this code needs")
    content_version: str = Field(description="the content this worker serves")
    published_version: str | None = Field(description="the content version every worker should serve")
    questions: int
    banks: int
    rounds: int
    reasons: list[str] = Field(description="why the worker is not ready; empty when status is ok")
    grader: GraderInfo = Field(description="who grades open answers (a grading service that fails does not make "
                                           "the worker unready: its answers get the built-in grade)")
    judge: JudgeInfo = Field(description="whether code items can be judged here (no sandbox does not make the "
                                         "worker unready: code items and coding rounds are off, with this reason)")


# --- bookmarks and notes (/me/bookmarks, /me/notes) ---------------------------------------------------------


class QuestionMarkPublic(BaseModel):
    """My star and my note on one question."""

    question_id: str = Field(description="the id they are kept under: an id merged into another item gives that "
                                         "item's")
    starred: bool
    starred_at: Timestamp | None
    note: str | None = Field(description="my note as written (markdown); null: none")
    note_html: str | None = Field(description="the note rendered as content is (raw HTML escaped; math as "
                                              "spans for KaTeX)")
    updated_at: Timestamp | None


class Bookmark(QuestionMarkPublic):
    title: str | None = Field(description="null: the question is no longer in the content")
    bank: str | None
    type: str | None
    topics: list[str]
    url: str


class BookmarkPage(BaseModel):
    """A page of my bookmarks, most recently starred first."""

    items: list[Bookmark]
    next: IntNext = Field(description=NEXT_HELP)
