"""Response models of the interview routes: the shapes app.interviews.service and the routes build."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from app.api.schemas import (
    NEXT_HELP,
    CodeVerdict,
    FeedbackCode,
    HexNext,
    KeypointHit,
    MisconceptionFound,
    OptionPublic,
    PairVerdict,
    QuestionPublic,
    Timestamp,
)
from app.practice.scheduling import RatingName


class InterviewStateName(StrEnum):
    """One enum in the schema for every `state` (a generated client gets one type, not one per model)."""

    active = "active"
    finished = "finished"
    abandoned = "abandoned"  # ended by the candidate: unscored, unscheduled, kept in the history


class InterviewRunningResponse(BaseModel):
    """The 409 of POST /api/v1/interviews: which interview of the round runs already."""

    detail: str
    active_interview_id: str


class FinishConflictResponse(BaseModel):
    """The 409 of POST /api/v1/interviews/{id}/finish: nothing was finished."""

    detail: str
    state: InterviewStateName | None = Field(default=None, description="abandoned: the interview was abandoned")
    seconds_left: int | None = Field(default=None, description='reason "time_up" before the server\'s deadline: '
                                     "the whole seconds its clock has left (a client resyncs its countdown)")


class SectionPlan(BaseModel):
    title: str
    minutes: float
    start: int = Field(description="position of the section's first question")
    count: int


class InterviewItem(BaseModel):
    position: int
    section: int
    followup_of: str | None = Field(description="the id of the question this one follows up (追问)")
    question: QuestionPublic
    answer: Any = Field(description="the saved answer (null: none yet, or answer_unreadable)")
    answer_unreadable: bool = Field(
        default=False, description="an answer is saved but nested too deeply to be sent (stored by an older "
        "version, which took any nesting): `answer` is null; saving a new one replaces it")
    saved_at: Timestamp | None


class InterviewState(BaseModel):
    id: str
    round: str
    title: str
    state: InterviewStateName
    content_version: str
    started_at: Timestamp
    deadline: Timestamp
    server_now: Timestamp
    remaining_seconds: float
    current_position: int
    score: float | None
    sections: list[SectionPlan]
    questions: list[InterviewItem]


class InterviewSummary(BaseModel):
    id: str
    round: str
    title: str
    state: InterviewStateName
    score: float | None
    started_at: Timestamp
    deadline: Timestamp


class InterviewPage(BaseModel):
    """A page of my interviews, newest first."""

    items: list[InterviewSummary]
    next: HexNext = Field(description=NEXT_HELP)


class AnswerSaved(BaseModel):
    position: int
    saved_at: Timestamp
    answer: Any


class PositionMoved(BaseModel):
    current_position: int
    state: InterviewStateName


class InterviewFinished(BaseModel):
    id: str
    state: InterviewStateName
    score: float | None


class ReportSection(BaseModel):
    title: str
    minutes: float = Field(description="the time the round's plan gives the section")
    score: float | None = Field(description="the mean score of its scored items; null when it has none (a "
                                "self-introduction)")
    start: int = Field(description="the section's first position")
    count: int = Field(description="its questions, follow-ups included")
    spent_seconds: float = Field(description="the time the server's clock accounted to its questions while each "
                                 "was the current one")
    mistakes: int = Field(description="its answers that count as mistakes (see ReportQuestion.mistake)")


class TopicScore(BaseModel):
    topic: str
    score: float
    count: int
    mistakes: int


class ReportQuestion(BaseModel):
    position: int
    section: int
    id: str
    type: str
    title: str
    prompt_html: str
    options: list[OptionPublic]
    topics: list[str]
    answer: Any
    answer_unreadable: bool = Field(
        default=False, description="the answer was saved nested too deeply to be sent: `answer` is null")
    scored: bool = Field(default=True, description="false for an item asked but never marked (a "
                         "self-introduction, 反问): the answer as given, and no score, verdict, expected answer, "
                         "reference, explanation or self-rating; no part of any score")
    self_rated: bool = Field(default=False, description="an open item without key points: graded by the "
                             "self-rating alone (no key-point verdicts)")
    score: float | None = Field(description="0 to 1; null for an unscored item")
    correct: bool | None = Field(description="null for an unscored item")
    mistake: bool = Field(description="a mistake (错题): an objective item below full marks; an open item self-rated "
                          "again or covering less than 60% of its key points; never an unscored item")
    feedback: str
    expected: Any
    reference_html: str | None
    explanation_html: str
    keypoints: list[KeypointHit] | None
    misconceptions: list[MisconceptionFound] | None = None
    grader: str | None = Field(default=None, description='open items: who graded the answer, "builtin" or '
                               '"model:<model>" (null for other items, and for results stored before it was kept)')
    codes: list[FeedbackCode] = Field(default_factory=list, description="feedback codes with arguments (none in "
                                      "results stored before codes)")
    time_spent_seconds: float
    self_rating: str | None
    judge: CodeVerdict | None = Field(default=None, description="code items: the per-case verdicts of the last "
                                      "autosaved source")
    pairs: list[PairVerdict] | None = Field(default=None, description="matching items: one verdict per left item")
    option_feedback_html: dict[str, str] = Field(
        default_factory=dict, description="the author's feedback for each chosen option that has some, rendered")
    answer_feedback_html: str | None = Field(
        default=None, description="the feedback of the accepted answer a short or numeric answer matched, rendered")
    followup_of: str | None


class InterviewReport(BaseModel):
    id: str
    round: str
    title: str
    score: float | None = Field(description="the mean score of the scored items (unscored ones count for "
                                "nothing); null when none is scored")
    started_at: Timestamp
    finished_at: Timestamp | None
    sections: list[ReportSection]
    topics: list[TopicScore] = Field(description="weakest first")
    weak_topics: list[str]
    mistakes: list[int] = Field(description="the positions of the mistakes, in order")
    scored: int = Field(description="the questions that count towards the score")
    planned_seconds: float = Field(description="the round's duration")
    spent_seconds: float = Field(description="the time accounted to the questions, all sections together")
    questions: list[ReportQuestion]


class AnswerRated(BaseModel):
    position: int
    rating: RatingName | None


class ShareLink(BaseModel):
    token: str
    url: str
