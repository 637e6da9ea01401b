"""Bearer-token authentication and authorization for the gateway.

Tokens come only from configuration (``GatewaySettings.tokens``). A presented token is compared
with every configured one by ``hmac.compare_digest`` (constant time, and all of them are
compared, so the time taken does not say which one came close). Tokens are never logged: a
request is known by the token's ``name``.

Routes declare what they need with one of two dependencies::

    @router.post("/cancel/{job_id}")
    def cancel(principal: Principal = Depends(require_service("images:write"))): ...

``require_user_or_service(scope)`` admits a user or a service token holding ``scope``;
``require_service(scope)`` only a service token holding it. A missing or unknown token is 401
(with ``WWW-Authenticate: Bearer``), a wrong kind or missing scope 403.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from media_stream.config import GatewayToken

ALL_SCOPES = "*"
_bearer = HTTPBearer(auto_error=False, description="A token from MEDIA_STREAM_GATEWAY__TOKENS.")


@dataclass(frozen=True)
class Principal:
    """Who made the request: the token's name, kind and scopes (never the token itself)."""

    name: str
    kind: Literal["user", "service"]
    scopes: frozenset[str]

    def has_scope(self, scope: str) -> bool:
        return ALL_SCOPES in self.scopes or scope in self.scopes


class TokenTable:
    """The configured tokens; ``lookup`` compares against all of them in constant time."""

    def __init__(self, tokens: list[GatewayToken]) -> None:
        self._entries = [
            (_digest(t.token.get_secret_value()), Principal(t.name, t.kind, frozenset(t.scopes))) for t in tokens
        ]

    def lookup(self, presented: str) -> Principal | None:
        candidate = _digest(presented)  # equal lengths: the comparison time says nothing about length
        found: Principal | None = None
        for secret, principal in self._entries:  # no early exit: every token is compared
            if hmac.compare_digest(candidate, secret) and found is None:
                found = principal
        return found


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=401,
        detail={"error": "unauthorized", "message": detail},
        headers={"WWW-Authenticate": 'Bearer realm="media-stream"'},
    )


def _forbidden(detail: str) -> HTTPException:
    return HTTPException(status_code=403, detail={"error": "forbidden", "message": detail})


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The principal behind the request's bearer token; 401 when there is none or it is unknown."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise _unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    table: TokenTable = request.app.state.tokens
    principal = table.lookup(credentials.credentials)
    if principal is None:
        raise _unauthorized("the bearer token is not valid")
    request.state.principal = principal
    return principal


def _dependency(scope: str, kinds: tuple[str, ...]) -> Callable[..., Principal]:
    def dependency(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal:
        principal = authenticate(request, credentials)
        if principal.kind not in kinds:
            raise _forbidden(f"this route needs a {' or '.join(kinds)} token; '{principal.name}' is a {principal.kind} token")
        if not principal.has_scope(scope):
            raise _forbidden(f"the token '{principal.name}' lacks the scope '{scope}'")
        return principal

    dependency.__name__ = f"require_{'_or_'.join(kinds)}_{scope.replace(':', '_')}"
    return dependency


def require_user_or_service(scope: str) -> Callable[..., Principal]:
    """A dependency admitting a user or service token that holds ``scope``; yields the Principal."""
    return _dependency(scope, ("user", "service"))


def require_service(scope: str) -> Callable[..., Principal]:
    """A dependency admitting only a service token that holds ``scope``; yields the Principal."""
    return _dependency(scope, ("service",))
