"""Identifiers the kinds of the ingestion chain share (Adobe's, verified in its API reference)."""

from __future__ import annotations

S3_SPEC_ID = "ecadc60c-7455-4d87-84dc-2a0e293d997b"
DATA_LAKE_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
FLOW_SPEC_ID = "9753525b-82c7-4dce-8a9b-5ccfce2b9876"  # CloudStorageToAEP
XED_FULL = "application/vnd.adobe.xed-full+json;version=1"
