"""Response models of the JSON API (they document the OpenAPI schema at ``/openapi.json``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "ErrorOut",
    "ExplainOut",
    "InfoOut",
    "MapOut",
    "ModelOut",
    "PredictionOut",
    "SampleOut",
    "TextIn",
    "TextOut",
]


class ErrorOut(BaseModel):
    error: str = Field(description="one line: the parameter, what is allowed, what was received")
    status: int


class ModelOut(BaseModel):
    name: str
    description: str
    loaded: bool
    inputs: list[str] = Field(default_factory=list, description="input categories it reads: photo, grey, scan")
    trained_on: str = Field(default="", description="what it was trained on ('' when not known before loading)")


class SampleOut(BaseModel):
    id: str
    description: str
    image_url: str


class InfoOut(BaseModel):
    version: str
    models: list[ModelOut]
    default_model: str
    methods: list[str]
    samples: list[SampleOut]
    medical: bool = Field(description="whether DICOM and NIfTI uploads can be read")
    window_presets: list[str]
    text_models: list[str]
    limits: dict[str, float]


class PredictionOut(BaseModel):
    rank: int
    class_index: int
    label: str
    probability: float


class MapOut(BaseModel):
    rank: int
    class_index: int
    label: str
    box: list[int] | None = Field(description="x0, y0, x1, y1 (inclusive) of the largest region >= 20% of max")
    heatmap_url: str = Field(description="RGBA PNG to draw over the image; its alpha follows the map value")
    overlay_url: str
    npy_url: str


class ExplainOut(BaseModel):
    result_id: str
    input_id: str = Field(description="send it back as input_id to explain the same upload again")
    model: str
    model_reason: str = Field(default="", description="why this model answered")
    warning: str | None = Field(default=None, description="set when the model cannot read this kind of input")
    layers: list[str]
    methods: list[str]
    width: int
    height: int
    input: dict[str, Any]
    predictions: list[PredictionOut]
    maps: dict[str, list[MapOut]]
    image_url: str
    manifest_url: str
    seconds: float


class TextIn(BaseModel):
    model: str | None = Field(default=None, description="a served text model (default: the first)")
    text: str = Field(max_length=2000)


class TokenOut(BaseModel):
    token: str
    score: float
    relative: float = Field(description="score / max |score|, in [-1, 1]")
    unknown: bool


class TextRowOut(BaseModel):
    output: str = Field(description="one output character (translation models)")
    attention: list[float] = Field(description="attention weight per source token")
    attribution: list[float] = Field(description="gradient attribution per source token")


class TextOut(BaseModel):
    rows: list[TextRowOut] | None = None
    model: str
    label: str | None
    probability: float | None
    method: str | None
    tokens: list[TokenOut]
