"""Shared manifest texts for the manifest tests."""

from __future__ import annotations

VALID = """\
version: 1
connections:
  marketing-landing:
    type: amazon-s3
    name: Marketing landing bucket
    description: Raw campaign exports
    auth:
      specName: Access Key
      params:
        s3AccessKey: ${env:MARKETING_S3_ACCESS_KEY}
        s3SecretKey: ${env:MARKETING_S3_SECRET_KEY}
        bucketName: acme-marketing
"""

ENV = {
    "MARKETING_S3_ACCESS_KEY": "AKIAFAKEACCESSKEY",
    "MARKETING_S3_SECRET_KEY": "fake-secret-value-123",
}
