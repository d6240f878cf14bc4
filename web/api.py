"""The JSON API under /p/{slug}/api/ (SPEC §6's table): what the pages do, for scripts and other clients.

Every answer is the CLI's own: a GET returns exactly what the matching
`pot … --json` prints (the same report models, dumped the same way), and a POST
goes through `web.actions`, the path a form takes too. Errors are `web.app`'s:
`{"error": "<the CLI's message>"}` with SPEC §6's status.

Bodies are read strictly: a JSON object with only the fields the table names,
strings where the CLI takes text (amounts are decimal strings, as typed on the
command line), so a number where a string belongs, a field nobody defined (such
as one naming another member as the actor) or a body that is not JSON is 422 and
nothing is stored. Who acts is always the signed-in member.

Member keys (SPEC §7): `GET keys` lists every key registered in the pot, `POST
keys` registers one for the signed-in member only, `POST keys/{key_id}/revocation`
ends one of theirs. The six routes that make a signable event take an optional
`signature` `{key_id, seen, sig}`, made by a client that holds the key (the
browser's `keys.js`); the ledger checks it before anything is stored.
`GET events/{no}/digest` is what a member's device asks to check, as a witness,
that the event it last saw still has the digest it saw.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails
from starlette.datastructures import QueryParams

from domain.chain import parse_digest
from domain.errors import BadInput, NotFound
from domain.events import STATUSES
from domain.signing import Signature
from domain.values import parse_date, parse_name
from ledger.keys import registered_keys
from projections.models import json_dict
from web import actions
from web.app import Member, Web, csrf_checked, signed_in, web_of

router = APIRouter(prefix="/p/{slug}/api")

# Event and proposal numbers, as the CLI takes them: from 1 to the largest a PostgreSQL INTEGER holds.
MAX_NUMBER = 2**31 - 1

Signed = Annotated[Member, Depends(signed_in)]
Acting = Annotated[Member, Depends(csrf_checked)]
WebApp = Annotated[Web, Depends(web_of)]
Json = dict[str, Any]


# --------------------------------------------------------------------------- reading requests
def _query(request: Request, *known: str) -> QueryParams:
    """The query string, refused when it names a parameter this route does not take (a typo must not be ignored)."""
    params = request.query_params
    for name in params:
        if name not in known:
            takes = ", ".join(known) if known else "no query parameters"
            raise BadInput(f"unknown query parameter {name!r}: this takes {takes}")
        if name != "type" and len(params.getlist(name)) > 1:
            raise BadInput(f"query parameter {name!r} is given more than once")
    return params


def _day(params: QueryParams, name: str) -> date | None:
    text = params.get(name)
    return parse_date(text, name) if text is not None and text.strip() else None


def _number(text: str, what: str, member: Member) -> int:
    """An event or proposal number from the URL; anything else names nothing here, so 404."""
    if re.fullmatch(r"[0-9]{1,10}", text, re.ASCII) and 1 <= int(text) <= MAX_NUMBER:
        return int(text)
    shown = text if re.fullmatch(r"[0-9]+", text, re.ASCII) else repr(text)
    raise NotFound(f"there is no {what} {shown} in pot {member.slug!r}")


class Body(BaseModel):
    """A request body: a JSON object with exactly the fields its route defines, each of the type it says."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


B = TypeVar("B", bound=Body)

# The form types `csrf_checked` reads the token from: once read there, the body cannot be read again as JSON.
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
# The longest body any route needs is a few texts of at most 500 characters: far more is an attack, not a request.
MAX_BODY = 64 * 1024


def json_body(model: type[B]) -> Callable[[Request, Member], Awaitable[B]]:
    """A dependency reading `model` from the JSON body, after the member and the CSRF token are checked."""

    # `_checked`: the member is signed in and the CSRF token matched before the body is even read.
    async def parse(request: Request, _checked: Acting) -> B:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media in _FORMS:
            raise BadInput("the API takes a JSON object (Content-Type: application/json), not a form")
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY:
                raise BadInput(f"the body is longer than {MAX_BODY:,} bytes: no request needs that much")
        if not raw.strip():
            raw = bytearray(b"{}")  # `close`, `cancel` and `pay` need nothing: an empty body is the empty object.
        elif media and media != "application/json" and not media.endswith("+json"):
            raise BadInput(f"the API takes a JSON object (Content-Type: application/json), not {media}")
        try:
            return model.model_validate_json(raw)
        except ValidationError as e:
            raise BadInput(_problems(model, e.errors())) from None

    return parse


def _problems(model: type[Body], errors: list[ErrorDetails]) -> str:
    """Pydantic's findings in the CLI's manner: what is wrong with which field, and what to send instead."""
    fields = ", ".join(f.alias or name for name, f in model.model_fields.items())
    takes = f"this takes {fields}" if fields else "this takes no fields: send {}"
    said = []
    for error in errors:
        where = ".".join(str(p) for p in error["loc"])
        match error["type"]:
            case "json_invalid":
                why = str(error.get("ctx", {}).get("error", "")).strip()
                said.append(f"the body is not valid JSON{f' ({why})' if why else ''}: send a JSON object")
            case "model_type" | "model_attributes_type" | "dict_type" if where:
                said.append(f"{where} must be a JSON object")
            case "model_type" | "model_attributes_type" | "dict_type":
                said.append(f"the body must be a JSON object: {takes}")
            case "extra_forbidden":
                said.append(f"unknown field {where!r}: {takes}")
            case "missing":
                said.append(f"{where} is required")
            case "string_type":
                said.append(f"{where} must be a string (amounts and dates too, as typed on the command line)")
            case "int_type" | "int_from_float":
                said.append(f"{where} must be a whole number")
            case "bool_type":
                said.append(f"{where} must be true or false")
            case "greater_than_equal" | "less_than_equal":
                said.append(f"{where} must be a number from 1 to {MAX_NUMBER}")
            case _:
                said.append(f"{where}: {error['msg']}")
    return "; ".join(said) or "bad input"


class NoBody(Body):
    """`{}`: close and cancel take nothing but the URL."""


class SignatureBody(Body):
    """`"signature": {"key_id", "seen", "sig"}` (SPEC §7); each part's shape is the ledger's to check."""

    key_id: str
    seen: str
    sig: str

    def signature(self) -> Signature:
        return Signature(key_id=self.key_id, seen=self.seen, sig=self.sig)


class Signable(Body):
    """A body whose event a client may sign: the signature, if any, goes to the ledger as given."""

    signature: SignatureBody | None = None

    def signed(self) -> Signature | None:
        return None if self.signature is None else self.signature.signature()


class Payout(Signable):
    """`{}` or `{"signature"}`: a payout takes nothing else but the URL."""


class NewProposal(Signable):
    amount: str
    purpose: str
    recipient: str | None = None
    closes: str | None = None


class NewVote(Signable):
    position: str
    reason: str | None = None


class NewContribution(Signable):
    member: str
    amount: str
    on: str | None = None
    note: str | None = None
    ref: str | None = None
    income: str | None = None


class NewReversal(Signable):
    reason: str


class NewReflection(Signable):
    event: int = Field(ge=1, le=MAX_NUMBER)
    feeling: str
    note: str | None = None


class NewPledge(Body):
    member: str
    percent: str | None = None
    monthly: str | None = None
    from_month: str | None = Field(default=None, alias="from")


class NewMember(Body):
    name: str
    treasurer: bool = False


class NewInvite(Body):
    days: int = 7


class NewKey(Body):
    public_key: str
    proof: str


# --------------------------------------------------------------------------- looking (as the CLI's --json)
@router.get("/balance")
def balance(member: Signed, web: WebApp, request: Request) -> Json:
    as_of = _day(_query(request, "as_of"), "as_of")
    with web.using() as ledger:
        return json_dict(ledger.balance(member.pot, as_of=as_of, today=web.today()))


@router.get("/trust")
def trust(member: Signed, web: WebApp, request: Request) -> Json:
    as_of = _day(_query(request, "as_of"), "as_of")
    with web.using() as ledger:
        return json_dict(ledger.trust(member.pot, as_of=as_of, today=web.today()))


@router.get("/pledges")
def pledges(member: Signed, web: WebApp, request: Request) -> Json:
    as_of = _day(_query(request, "as_of"), "as_of")
    with web.using() as ledger:
        return json_dict(ledger.pledges(member.pot, as_of=as_of, today=web.today()))


@router.get("/members")
def members(member: Signed, web: WebApp, request: Request) -> list[Json]:
    _query(request)
    with web.using() as ledger:
        return [json_dict(row) for row in ledger.members(member.slug)]


@router.get("/proposals")
def proposals(member: Signed, web: WebApp, request: Request) -> list[Json]:
    status = _query(request, "status").get("status") or None
    if status is not None and status not in STATUSES:
        raise BadInput(f"status {status!r} is not one of {', '.join(STATUSES)}")
    with web.using() as ledger:
        return [json_dict(row) for row in ledger.proposals(member.pot, status=status)]


@router.get("/proposals/{n}")
def proposal(n: str, member: Signed, web: WebApp, request: Request) -> Json:
    _query(request)
    no = _number(n, "proposal", member)
    with web.using() as ledger:
        return json_dict(ledger.proposal(member.pot, no))


@router.get("/verify")
def verify(member: Signed, web: WebApp, request: Request) -> Json:
    """The chain recomputed and the views re-folded; a failed check is an answer (`"ok": false`), not an error."""
    given = _query(request, "digest").get("digest")
    digest = parse_digest(given) if given else None
    with web.using() as ledger:
        return ledger.verify(member.pot, digest=digest).contract()


@router.get("/history")
def history(member: Signed, web: WebApp, request: Request) -> list[Json]:
    params = _query(request, "member", "type", "since", "until", "as_of")
    who = params.get("member")
    # As `pot history`: --as-of is the same as --until, and the earlier of the two wins.
    limits = [d for d in (_day(params, "until"), _day(params, "as_of")) if d is not None]
    with web.using() as ledger:
        return ledger.history(
            member.pot,
            member=parse_name(who) if who else None,
            types=params.getlist("type"),
            since=_day(params, "since"),
            until=min(limits) if limits else None,
        )


# --------------------------------------------------------------------------- deciding together
@router.post("/proposals", status_code=201)
def propose(member: Acting, web: WebApp, body: Annotated[NewProposal, Depends(json_body(NewProposal))]) -> Json:
    made = actions.propose(
        web,
        member,
        amount=body.amount,
        purpose=body.purpose,
        recipient=body.recipient,
        closes=body.closes,
        signature=body.signed(),
    )
    return {"no": made.proposal_no}


@router.post("/proposals/{n}/votes", status_code=201, response_model=None)
def vote(
    n: str, member: Acting, web: WebApp, body: Annotated[NewVote, Depends(json_body(NewVote))]
) -> Json | JSONResponse:
    done = actions.vote(
        web,
        member,
        proposal_no=_number(n, "proposal", member),
        position=body.position,
        reason=body.reason,
        signature=body.signed(),
    )
    if done.repeated:  # The same vote again stores nothing (issue 18): 200, and no event number.
        return JSONResponse({"no": None, "status": done.status, "stored": False}, status_code=200)
    return {"no": done.no, "status": done.status}


@router.post("/proposals/{n}/close")
def close(n: str, member: Acting, web: WebApp, _body: Annotated[NoBody, Depends(json_body(NoBody))]) -> Json:
    done = actions.close(web, member, _number(n, "proposal", member))
    return {"no": done.no, "status": done.status}


@router.post("/proposals/{n}/cancel")
def cancel(n: str, member: Acting, web: WebApp, _body: Annotated[NoBody, Depends(json_body(NoBody))]) -> Json:
    done = actions.cancel(web, member, _number(n, "proposal", member))
    return {"no": done.no, "status": done.status}


@router.post("/proposals/{n}/pay")
def pay(n: str, member: Acting, web: WebApp, body: Annotated[Payout, Depends(json_body(Payout))]) -> Json:
    done = actions.pay(web, member, _number(n, "proposal", member), signature=body.signed())
    # Only an approved proposal is paid, in full and once: after a payout it is paid.
    return {"no": done.no, "status": "paid"}


# --------------------------------------------------------------------------- money in
@router.post("/contributions", status_code=201)
def contribute(
    member: Acting, web: WebApp, body: Annotated[NewContribution, Depends(json_body(NewContribution))]
) -> Json:
    done = actions.contribute(
        web,
        member,
        who=body.member,
        amount=body.amount,
        on=body.on,
        note=body.note,
        ref=body.ref,
        income=body.income,
        signature=body.signed(),
    )
    return {"no": done.no}


@router.post("/contributions/{no}/reversal", status_code=201)
def reverse(
    no: str, member: Acting, web: WebApp, body: Annotated[NewReversal, Depends(json_body(NewReversal))]
) -> Json:
    done = actions.reverse(
        web, member, contribution_no=_number(no, "event", member), reason=body.reason, signature=body.signed()
    )
    return {"no": done.no}


@router.post("/pledges", status_code=201)
def pledge(member: Acting, web: WebApp, body: Annotated[NewPledge, Depends(json_body(NewPledge))]) -> Json:
    done = actions.set_pledge(
        web, member, who=body.member, percent=body.percent, monthly=body.monthly, from_month=body.from_month
    )
    return {"no": done.no}


# --------------------------------------------------------------------------- looking back, the crew
@router.post("/reflections", status_code=201)
def reflect(member: Acting, web: WebApp, body: Annotated[NewReflection, Depends(json_body(NewReflection))]) -> Json:
    done = actions.reflect(
        web, member, event_no=body.event, feeling=body.feeling, note=body.note, signature=body.signed()
    )
    return {"no": done.no}


@router.post("/members", status_code=201)
def add_member(member: Acting, web: WebApp, body: Annotated[NewMember, Depends(json_body(NewMember))]) -> Json:
    done = actions.add_member(web, member, name=body.name, treasurer=body.treasurer)
    return {"no": done.no}


# `path`: a member's name may hold a slash (names are free text), which a plain parameter would not match.
@router.post("/members/{name:path}/invite", status_code=201)
def invite(name: str, member: Acting, web: WebApp, body: Annotated[NewInvite, Depends(json_body(NewInvite))]) -> Json:
    made, url = actions.invite(web, member, name=name, days=body.days)
    return {"url": url, "expires": made.invite.expires_at.isoformat(timespec="seconds")}


# --------------------------------------------------------------------------- member keys and the witness (SPEC §7)
@router.get("/keys")
def keys(member: Signed, web: WebApp, request: Request) -> list[Json]:
    """Every key registered in the pot, oldest first: whose, its id and public key, the events adding and ending it."""
    _query(request)
    with web.using() as ledger:
        found = registered_keys(ledger, member.slug)
    return [
        {"member": k.member, "key_id": k.key_id, "public_key": k.public_key, "added": k.added, "revoked": k.revoked}
        for k in found
    ]


@router.post("/keys", status_code=201)
def add_key(member: Acting, web: WebApp, body: Annotated[NewKey, Depends(json_body(NewKey))]) -> Json:
    """A key for the signed-in member, and only for them: the body names no member."""
    done, key_id = actions.add_key(web, member, public_key=body.public_key, proof=body.proof)
    return {"no": done.no, "key_id": key_id}


@router.post("/keys/{key_id}/revocation", status_code=201)
def revoke_key(key_id: str, member: Acting, web: WebApp, _body: Annotated[NoBody, Depends(json_body(NoBody))]) -> Json:
    done = actions.revoke_key(web, member, key_id=key_id)
    return {"no": done.no}


@router.get("/events/{no}/digest")
def event_digest(no: str, member: Signed, web: WebApp, request: Request) -> Json:
    """One event's full digest, as the history shows it: a device checks the event it last saw still has it."""
    _query(request)
    number = _number(no, "event", member)
    with web.using() as ledger:
        steps = list(ledger.replay(member.pot, from_no=number, to_no=number))
    if not steps:
        raise NotFound(f"there is no event {number} in pot {member.slug!r}")
    return {"no": number, "digest": steps[0].item["digest"]}
