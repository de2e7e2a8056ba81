"""HTML pages for administering faculties, committees and programmes."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
