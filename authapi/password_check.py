"""The one password check: counted by the throttle before bcrypt runs, taken back once right.

Login asks it, and the password change, and so will every use case that asks for the
password again (a second factor's first step, say): a guess costs the same whichever door
it knocks on.
"""

from __future__ import annotations

from authapi.passwords import PasswordHasher
from authapi.records import Peer, User
from authapi.settings import MAX_PASSWORD_LENGTH
from authapi.throttle import Throttle


class PasswordCheck:
    """Tell whether a password is an account's, within the throttle's limits on guessing."""

    def __init__(self, throttle: Throttle, hasher: PasswordHasher) -> None:
        self.throttle = throttle
        self.hasher = hasher

    async def verify(
        self,
        account: str,
        user: User | None,
        password: str,
        peer: Peer,
        now: int,
        device_id: str | None = None,
    ) -> bool:
        """Count a check of `account`'s password from `peer`, then tell whether it is `user`'s.

        `device_id`, of a device token recognized for `user`, is counted per device instead.
        """
        # Counted before bcrypt, in one store operation, so that parallel guesses cannot all
        # get past; past a limit this raises `TooManyRequests` without any bcrypt work. An
        # unknown email (no `user`) is counted like any stranger's and checked against nothing,
        # in the time of a real check.
        counted = await self.throttle.admit_password_check(
            account, None if user is None else user.id, peer.address, now, device_id
        )
        valid = await self.hasher.verify(password, None if user is None else user.password_hash)
        # Longer than any password the policy sets: never right, though checked all the same.
        if user is None or not valid or len(password) > MAX_PASSWORD_LENGTH:
            return False
        # Its own hits only: the failures before it, anyone's, still count.
        await self.throttle.forgive(counted)
        return True
