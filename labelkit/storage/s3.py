"""The S3 client: one bucket's settings, listing, reading, presigned links and writes.

Works with any S3-compatible store (AWS, MinIO, SeaweedFS, R2...): an endpoint URL other
than AWS's uses path-style addressing. Without keys, boto3's usual chain is used (the
AWS_* environment variables, a profile, an instance role). Every failure comes out as an
InvalidInput whose message says what to fix (the bucket, the keys, the endpoint).

An endpoint URL is checked as every address the server reaches on someone's behalf
(labelkit.media.fetch): public only, unless an admin allows private ones
(LABELKIT_ALLOW_PRIVATE_URLS), before each call that connects to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, BinaryIO

from labelkit.errors import InvalidInput
from labelkit.media.fetch import check_public

SCHEME = "s3://"


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    prefix: str = ""
    region: str = ""
    endpoint_url: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""

    @property
    def where(self) -> str:
        place = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        return f"{place} at {self.endpoint_url}" if self.endpoint_url else place


class S3Error(InvalidInput):
    """A bucket that cannot be used as asked; the message says why."""


class S3Unreachable(S3Error):
    """The store did not answer (down, or a network between): worth trying again later."""


def parse_url(value: str) -> tuple[str, str] | None:
    """(bucket, key) of an s3://bucket/key value, else None."""
    value = (value or "").strip()
    if not value.startswith(SCHEME):
        return None
    bucket, _, key = value[len(SCHEME):].partition("/")
    return (bucket, key) if bucket and key else None


@lru_cache(maxsize=64)
def client(s: S3Settings) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        connect_timeout=5,
        read_timeout=30,
        retries={"max_attempts": 2, "mode": "standard"},
        s3={"addressing_style": "path" if s.endpoint_url else "auto"},
    )
    return boto3.session.Session().client(
        "s3",
        region_name=s.region or None,
        endpoint_url=s.endpoint_url or None,
        aws_access_key_id=s.access_key_id or None,
        aws_secret_access_key=s.secret_access_key or None,
        config=config,
    )


_CODES = {
    "NoSuchBucket": "the bucket does not exist",
    "AccessDenied": "these keys may not use this bucket (access denied)",
    "AllAccessDisabled": "these keys may not use this bucket (access denied)",
    "403": "these keys may not use this bucket (access denied)",
    "404": "the bucket does not exist",
    "InvalidAccessKeyId": "the access key ID is not known to this store",
    "SignatureDoesNotMatch": "the secret access key is wrong (the signature does not match)",
    "InvalidToken": "the session token is not valid",
    "ExpiredToken": "the credentials have expired",
    "NoSuchKey": "the object does not exist",
    "PermanentRedirect": "the bucket is in another region; set its region",
    "AuthorizationHeaderMalformed": "the region does not match the bucket's; set its region",
}


def explain(error: BaseException) -> str:
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        ParamValidationError,
        PartialCredentialsError,
    )
    from botocore.exceptions import (
        ConnectionError as BotoConnectionError,
    )

    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        return _CODES.get(code) or f"the store refused ({code or 'no code'}: {error.response.get('Error', {}).get('Message', '')})"
    if isinstance(error, (EndpointConnectionError, BotoConnectionError)):
        return "the endpoint cannot be reached (check the endpoint URL and the network)"
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return "no credentials: enter an access key and secret, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if isinstance(error, ParamValidationError):
        return f"not a valid request ({error})"
    return f"{type(error).__name__}: {error}"


@contextmanager
def errors(s: S3Settings, doing: str) -> Iterator[None]:
    """Turn boto's errors into an S3Error saying what went wrong where."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    try:
        yield
    except (EndpointConnectionError, BotoConnectionError) as e:
        raise S3Unreachable(f"Cannot {doing} {s.where}: {explain(e)}") from None
    except (BotoCoreError, ClientError, ValueError) as e:
        raise S3Error(f"Cannot {doing} {s.where}: {explain(e)}") from None


def check_endpoint(endpoint_url: str) -> None:
    """S3Error unless the endpoint (if any; AWS's own otherwise) is http(s) at a public
    address, or private ones are allowed: a project's managers set it, and it must not make
    the server call its own network (cloud metadata, internal services)."""
    if not endpoint_url:
        return
    try:
        check_public(endpoint_url)
    except InvalidInput as e:
        raise S3Error(f"The endpoint URL cannot be used: {e}.") from None


def connect(s: S3Settings) -> Any:
    """The client, for a call that connects to the endpoint (checked first, each time)."""
    check_endpoint(s.endpoint_url)
    return client(s)


def check(s: S3Settings) -> None:
    """That the bucket can be listed with these settings (one request)."""
    with errors(s, "list"):
        connect(s).list_objects_v2(Bucket=s.bucket, Prefix=s.prefix, MaxKeys=1)


def list_pages(s: S3Settings, page_size: int = 1000) -> Iterator[list[tuple[str, int]]]:
    """The bucket's objects under the prefix, a page of (key, size) at a time."""
    with errors(s, "list"):
        paginator = connect(s).get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=s.bucket, Prefix=s.prefix, PaginationConfig={"PageSize": page_size}):
            found = [(o["Key"], o.get("Size", 0)) for o in page.get("Contents", []) if not o["Key"].endswith("/")]
            if found:
                yield found


def open_object(s: S3Settings, key: str) -> BinaryIO:
    """The object's body as a stream (read it in chunks)."""
    with errors(s, f"read {key!r} from"):
        return connect(s).get_object(Bucket=s.bucket, Key=key)["Body"]


def presigned_url(s: S3Settings, key: str, seconds: int = 3600) -> str:
    with errors(s, f"sign a link to {key!r} in"):
        return client(s).generate_presigned_url(
            "get_object", Params={"Bucket": s.bucket, "Key": key}, ExpiresIn=seconds
        )


def put(s: S3Settings, key: str, body: bytes, content_type: str = "application/json") -> None:
    with errors(s, f"write {key!r} to"):
        connect(s).put_object(Bucket=s.bucket, Key=key, Body=body, ContentType=content_type)
