"""HTTP routes for media hashing and matching (filled in below)."""

from fastapi import APIRouter

router = APIRouter()
