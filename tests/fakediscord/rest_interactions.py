"""REST routes: interaction callbacks, followups and the @original response."""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any

from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    InteractionEvent,
    InteractionRecord,
)
from .messages import create_bot_message, edit_message
from .payloads import MessageFlag, message_json
from .rest import ApiError, ApiRequest, Router, unknown

if TYPE_CHECKING:
    from .server import FakeDiscord

Reply = tuple[int, Any]
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
    MESSAGE_COMPONENT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE,
        UPDATE_MESSAGE,
        MODAL,
    },
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE},
}
WEBHOOK_TOKEN_LIFETIME = 15 * 60


def register(router: Router, fake: FakeDiscord) -> None:
    world = fake.world

    def metadata(rec: InteractionRecord, *, followup: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(rec.id),
            "type": rec.type,
            "user": rec.user.to_json(),
            "authorizing_integration_owners": {"0": str(rec.channel.guild_id)},
        }
        if rec.type == APPLICATION_COMMAND:
            data.update(name=rec.command_name, command_type=1)
        if rec.type == MESSAGE_COMPONENT:
            data["interacted_message_id"] = str(rec.source_message_id)
        if rec.type == MODAL_SUBMIT and rec.parent_id in fake.interactions:
            data["triggering_interaction_metadata"] = metadata(fake.interactions[rec.parent_id])
        if followup and rec.original_message_id is not None:
            data["original_response_message_id"] = str(rec.original_message_id)
        return data

    def new_message(
        rec: InteractionRecord,
        req: ApiRequest,
        body: dict[str, Any],
        extra_flags: int = 0,
        followup: bool = False,
    ) -> dict[str, Any]:
        return create_bot_message(
            fake,
            rec.channel,
            body,
            req.files,
            extra_flags=extra_flags,
            msg_type=20 if rec.type == APPLICATION_COMMAND else 0,
            webhook_id=world.application_id,
            interaction_metadata=metadata(rec, followup=followup),
        )

    async def publish(event: str, message: dict[str, Any]) -> None:
        if not message["flags"] & MessageFlag.EPHEMERAL:
            await fake.dispatch_message(event, message)

    def log(
        rec: InteractionRecord,
        kind: str,
        payload: Any,
        message: dict[str, Any] | None,
        status: int = 200,
    ) -> None:
        rec.events.append(
            InteractionEvent(
                kind, time.monotonic(), copy.deepcopy(payload), copy.deepcopy(message), status
            )
        )

    # -- callback ----------------------------------------------------------------------------
    async def callback(req: ApiRequest) -> Reply:
        rec = fake.interactions.get(req.int_param("interaction_id"))
        if rec is None or rec.token != req.params["interaction_token"]:
            raise unknown("interaction", 10062)
        body = req.json or {}
        if (
            fake.callback_deadline is not None
            and time.monotonic() - rec.created > fake.callback_deadline
        ):
            log(rec, "callback", body, None, 404)
            raise unknown("interaction", 10062)  # what Discord answers after 3 s
        if rec.acknowledged:
            log(rec, "callback", body, None, 400)
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        ctype, data = body.get("type"), body.get("data") or {}
        if ctype not in ALLOWED_CALLBACKS[rec.type]:
            raise ApiError(
                400,
                50035,
                f"Invalid Form Body (type: callback type {ctype} is "
                f"not valid for interaction type {rec.type})",
            )
        ephemeral = bool((data.get("flags") or 0) & MessageFlag.EPHEMERAL)
        message: dict[str, Any] | None = None
        if ctype == CHANNEL_MESSAGE:
            message = new_message(rec, req, data)
            rec.ephemeral, rec.original_message_id = ephemeral, int(message["id"])
            await publish("MESSAGE_CREATE", message)
        elif ctype == DEFERRED_CHANNEL_MESSAGE:
            message = message_json(
                message_id=world.ids(),
                channel=rec.channel,
                author=world.bot_user,
                flags=MessageFlag.LOADING | (MessageFlag.EPHEMERAL if ephemeral else 0),
                msg_type=20 if rec.type == APPLICATION_COMMAND else 0,
                webhook_id=world.application_id,
                application_id=world.application_id,
                extra={"interaction_metadata": metadata(rec)},
            )
            world.messages[int(message["id"])] = message
            rec.ephemeral, rec.original_message_id = ephemeral, int(message["id"])
            await publish("MESSAGE_CREATE", message)
        elif ctype in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            source = world.messages.get(rec.source_message_id or 0)
            if source is None:
                raise ApiError(400, 50035, "Invalid Form Body (no message to update)")
            rec.original_message_id = int(source["id"])
            rec.ephemeral = bool(source["flags"] & MessageFlag.EPHEMERAL)
            if ctype == UPDATE_MESSAGE:
                message = edit_message(fake, source, data, req.files)
                await publish("MESSAGE_UPDATE", message)
        elif ctype == AUTOCOMPLETE_RESULT:
            rec.autocomplete_choices = data.get("choices") or []
        elif ctype == MODAL:
            rec.modal = data
        rec.response_type = ctype
        log(rec, "callback", body, message)
        if not req.flag("with_response"):
            return 204, None
        interaction: dict[str, Any] = {"id": str(rec.id), "type": rec.type}
        if rec.original_message_id is not None and ctype != AUTOCOMPLETE_RESULT:
            interaction.update(
                response_message_id=str(rec.original_message_id),
                response_message_loading=ctype == DEFERRED_CHANNEL_MESSAGE,
                response_message_ephemeral=rec.ephemeral,
            )
        reply: dict[str, Any] = {"interaction": interaction}
        if message is not None and ctype in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
            # the spec (and Discord) attach the message only for types 4 and 7
            reply["resource"] = {"type": ctype, "message": message}
        return 200, reply

    router.add(
        "POST", "/interactions/{interaction_id}/{interaction_token}/callback", callback, auth=False
    )

    # -- webhooks (followups and @original) ---------------------------------------------------
    def record_of(req: ApiRequest) -> InteractionRecord:
        rec = fake.interactions_by_token.get(req.params["webhook_token"])
        if rec is None or req.int_param("webhook_id") != world.application_id:
            raise unknown("Webhook", 10015)
        if time.monotonic() - rec.created > WEBHOOK_TOKEN_LIFETIME:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        if not rec.acknowledged:
            raise unknown("Webhook", 10015)
        return rec

    def target_of(req: ApiRequest, rec: InteractionRecord) -> tuple[dict[str, Any], bool]:
        mid = req.params.get("message_id", "@original")
        if mid == "@original":
            message = world.messages.get(rec.original_message_id or 0)
        else:
            message = world.messages.get(int(mid)) if mid.isdigit() else None
            if (
                message is not None
                and int(message["id"]) not in rec.followup_ids
                and int(message["id"]) != rec.original_message_id
            ):
                message = None
        if message is None:
            raise unknown("Message", 10008)
        return message, mid == "@original"

    async def followup(req: ApiRequest) -> Reply:
        rec = record_of(req)
        body = req.json or {}
        original = world.messages.get(rec.original_message_id or 0)
        if (
            rec.response_type == DEFERRED_CHANNEL_MESSAGE
            and original is not None
            and original["flags"] & MessageFlag.LOADING
        ):
            # The first followup after a defer replaces the "thinking..." message.
            message = edit_message(fake, original, body, req.files)
            await publish("MESSAGE_UPDATE", message)
        else:
            ephemeral = (body.get("flags") or 0) & MessageFlag.EPHEMERAL
            message = new_message(rec, req, body, extra_flags=ephemeral, followup=True)
            rec.followup_ids.append(int(message["id"]))
            await publish("MESSAGE_CREATE", message)
        log(rec, "followup", body, message)
        return (200, message) if req.flag("wait") else (204, None)

    async def get_target(req: ApiRequest) -> Reply:
        rec = record_of(req)
        message, is_original = target_of(req, rec)
        log(rec, "get_original" if is_original else "get_followup", None, message)
        return 200, message

    async def edit_target(req: ApiRequest) -> Reply:
        rec = record_of(req)
        message, is_original = target_of(req, rec)
        edit_message(fake, message, req.json or {}, req.files)
        await publish("MESSAGE_UPDATE", message)
        log(rec, "edit_original" if is_original else "edit_followup", req.json, message)
        return 200, message

    async def delete_target(req: ApiRequest) -> Reply:
        rec = record_of(req)
        message, is_original = target_of(req, rec)
        del world.messages[int(message["id"])]
        if not message["flags"] & MessageFlag.EPHEMERAL:
            await fake.dispatch_if_connected(
                "MESSAGE_DELETE",
                {
                    "id": message["id"],
                    "channel_id": message["channel_id"],
                    "guild_id": str(rec.channel.guild_id),
                },
            )
        log(rec, "delete_original" if is_original else "delete_followup", None, message, 204)
        return 204, None

    base = "/webhooks/{webhook_id}/{webhook_token}"
    router.add("POST", base, followup, auth=False)
    for path in (base + "/messages/@original", base + "/messages/{message_id}"):
        router.add("GET", path, get_target, auth=False)
        router.add("PATCH", path, edit_target, auth=False)
        router.add("DELETE", path, delete_target, auth=False)
