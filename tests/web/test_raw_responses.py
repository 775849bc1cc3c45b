"""Answers written straight over ASGI: the limits' problems and /metrics, byte for byte."""

from __future__ import annotations

from starlette.types import Message

from authapi.web.raw_responses import send_problem, send_response


class Recorder:
    """An ASGI `send` that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)


async def test_problem_is_json_with_its_length_and_extra_headers_lowercased() -> None:
    sent = Recorder()
    challenge = 'Bearer realm="auth-api", error="invalid_request"'
    await send_problem(sent, 400, "Bad Request", "Send one.", {"WWW-Authenticate": challenge})
    body = b'{"type": "about:blank", "title": "Bad Request", "status": 400, "detail": "Send one."}'
    assert sent.messages == [
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", b"%d" % len(body)),
                (b"www-authenticate", challenge.encode()),
            ],
        },
        {"type": "http.response.body", "body": body},
    ]


async def test_problem_without_extra_headers_carries_only_its_type_and_length() -> None:
    sent = Recorder()
    await send_problem(sent, 413, "Content Too Large", "The body must be at most 10 bytes.")
    assert [name for name, _ in sent.messages[0]["headers"]] == [
        b"content-type",
        b"content-length",
    ]


async def test_response_sends_its_body_as_given_even_when_empty() -> None:
    sent = Recorder()
    await send_response(sent, 401, b"", "text/plain", {"WWW-Authenticate": 'Bearer realm="m"'})
    assert sent.messages == [
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", b"0"),
                (b"www-authenticate", b'Bearer realm="m"'),
            ],
        },
        {"type": "http.response.body", "body": b""},
    ]
