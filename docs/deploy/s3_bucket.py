"""Create the S3 bucket labelkit uses, with versioning on, unless it is there already.

Run once by docker-compose.yml's s3-bucket service (in the labelkit image, which has
boto3); any S3-compatible endpoint works. Settings from the environment: S3_ENDPOINT_URL
(empty for AWS), S3_BUCKET, and boto3's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
AWS_DEFAULT_REGION. Exits non-zero, saying why, when the store cannot be used."""

from __future__ import annotations

import os
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


def main() -> int:
    endpoint = os.environ.get("S3_ENDPOINT_URL") or None
    bucket = os.environ.get("S3_BUCKET", "labelkit")
    client = boto3.client(
        "s3", endpoint_url=endpoint,
        config=Config(s3={"addressing_style": "path" if endpoint else "auto"}, retries={"max_attempts": 3}),
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            try:
                client.head_bucket(Bucket=bucket)
                print(f"The bucket {bucket} is there.")
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                    raise
                client.create_bucket(Bucket=bucket)
                print(f"Created the bucket {bucket}.")
            client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            status = client.get_bucket_versioning(Bucket=bucket).get("Status")
            print(f"Versioning of {bucket}: {status}.")
            return 0 if status == "Enabled" else 1
        except ClientError as e:
            error = e.response.get("Error", {})
            print(f"The S3 store refused: {error.get('Code')}: {error.get('Message')}", file=sys.stderr)
            return 1
        except BotoCoreError as e:  # not reachable yet: the store may still be starting
            if time.monotonic() > deadline:
                print(f"The S3 store at {endpoint or 'AWS'} cannot be reached: {e}", file=sys.stderr)
                return 1
            time.sleep(2)


if __name__ == "__main__":
    sys.exit(main())
