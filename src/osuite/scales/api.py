"""The scale server's JSON API: the scales, their rules, what each holds, and uploads on demand."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from osuite.core.http import Principal, requires
from osuite.scales import service
from osuite.scales.service import Scales

router = APIRouter(prefix="/api/v1", tags=["scales"])
Admin = Annotated[Principal, Depends(requires("manage"))]


async def _scales(request: Request) -> Scales:
    scales: Scales = request.app.state.scales
    return scales


ScalesDep = Annotated[Scales, Depends(_scales)]


class ScaleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    department: str = Field(default="", max_length=200)
    model: str = Field(default="", max_length=100)
    protocol: Literal["cas", "shtrih", "massak"]
    host: str = Field(min_length=1, max_length=200)
    port: int = Field(ge=1, le=65535)
    scale_number: int = Field(default=1, ge=1, le=255)
    password: str = Field(default="", max_length=64)
    enabled: bool = True
    barcode_template: str = Field(default="weight", min_length=1, max_length=64)
    label_format: int = Field(default=1, ge=0, le=255)
    hotkeys: int = Field(default=0, ge=0, le=999, description="Speed keys the model has")


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["category", "products"]
    values: list[Annotated[str, Field(min_length=1, max_length=36)]] = Field(min_length=1, max_length=10_000)


@router.get("/scales", summary="The scales, with their state and last upload")
def list_scales(scales: ScalesDep, _who: Admin) -> list[dict[str, Any]]:
    with scales.db.read() as conn:
        return service.list_scales(conn)


@router.post("/scales", status_code=201, summary="Add a scale (loaded in full soon after)")
def add_scale(body: ScaleIn, scales: ScalesDep, _who: Admin) -> dict[str, Any]:
    return service.save_scale(scales, body.model_dump())


@router.get("/scales/{scale_id}", summary="A scale")
def get_scale(scale_id: str, scales: ScalesDep, _who: Admin) -> dict[str, Any]:
    with scales.db.read() as conn:
        return service.scale_view(conn, scale_id)


@router.put("/scales/{scale_id}", summary="Change a scale (reloaded in full)")
def change_scale(scale_id: str, body: ScaleIn, scales: ScalesDep, _who: Admin) -> dict[str, Any]:
    return service.save_scale(scales, body.model_dump(), scale_id)


@router.delete("/scales/{scale_id}", status_code=204, summary="Forget a scale")
def delete_scale(scale_id: str, scales: ScalesDep, _who: Admin) -> None:
    service.delete_scale(scales, scale_id)


@router.put("/scales/{scale_id}/rules", summary="What the scale holds: categories and lists of products")
def set_rules(scale_id: str, body: list[RuleIn], scales: ScalesDep, _who: Admin) -> dict[str, Any]:
    return service.set_rules(scales, scale_id, [(rule.kind, rule.values) for rule in body])


@router.get("/scales/{scale_id}/plus", summary="Its PLUs: product, when sent, what the scale answered")
def plus(scale_id: str, scales: ScalesDep, _who: Admin) -> list[dict[str, Any]]:
    with scales.db.read() as conn:
        return service.plus_of(conn, scale_id)


@router.get("/scales/{scale_id}/uploads", summary="Its last uploads, newest first")
def uploads(scale_id: str, scales: ScalesDep, _who: Admin) -> list[dict[str, Any]]:
    with scales.db.read() as conn:
        service.get_scale(conn, scale_id)
        return service.uploads_of(conn, scale_id)


@router.post("/scales/{scale_id}/upload", status_code=202, summary="Upload now (full: everything)")
def upload_now(scale_id: str, scales: ScalesDep, _who: Admin, full: bool = False) -> dict[str, str]:
    service.order_upload(scales, scale_id, full=full)
    return {"status": "queued"}


@router.post("/reload", status_code=202, summary="Reload every scale in full")
def reload_all(scales: ScalesDep, _who: Admin) -> dict[str, str]:
    service.order_reload(scales)
    return {"status": "queued"}
