"""The enumerations every layer shares: migration modes, lock kinds, properties, return codes.

Modes follow include/linux/migrate_mode.h (Linux 4.14); return codes are the errno values a
``migratepage()`` callback returns (0 is MIGRATEPAGE_SUCCESS).
"""

from __future__ import annotations

from enum import Enum


class Mode(Enum):
    """``enum migrate_mode`` of include/linux/migrate_mode.h."""

    ASYNC = "ASYNC"
    SYNC_LIGHT = "SYNC_LIGHT"
    SYNC = "SYNC"
    SYNC_NO_COPY = "SYNC_NO_COPY"

    @classmethod
    def parse(cls, text: str) -> Mode | None:
        name = text.upper().removeprefix("MIGRATE_")
        return cls.__members__.get(name)


ALL_MODES: tuple[Mode, ...] = tuple(Mode)


class LockKind(Enum):
    """How a lock behaves: whether waiting for it sleeps, and whether it has shared holders."""

    SPINLOCK = "spinlock"
    RWLOCK = "rwlock"
    MUTEX = "mutex"
    RWSEM = "rwsem"
    BITLOCK = "bitlock"
    SLEEPING_BITLOCK = "sleeping_bitlock"

    @property
    def sleeps(self) -> bool:
        """Waiting for this lock puts the thread to sleep (forbidden under a spinlock, in ASYNC).

        PG_locked and BH_Lock are sleeping bit locks (lock_page, lock_buffer); a bit spinlock
        (bit_spin_lock, zsmalloc's pin_tag) spins.
        """
        return self in (LockKind.MUTEX, LockKind.RWSEM, LockKind.SLEEPING_BITLOCK)

    @property
    def shared(self) -> bool:
        """The lock has a read side that several holders may take at once."""
        return self in (LockKind.RWLOCK, LockKind.RWSEM)

    @property
    def spins(self) -> bool:
        """Holding this lock forbids sleeping (spinlock, rwlock, bit spinlock)."""
        return not self.sleeps


class Property(Enum):
    """The five built-in migration properties plus the spec's own assertions."""

    DEADLOCK = "deadlock"
    LOST_UPDATE = "lost-update"
    COPY_ORDER = "copy-order"
    MODE_DISCIPLINE = "mode-discipline"
    LOCK_BALANCE = "lock-balance"
    ASSERTION = "assertion"

    @classmethod
    def parse(cls, text: str) -> Property | None:
        for prop in cls:
            if prop.value == text:
                return prop
        return None


ALL_PROPERTIES: tuple[Property, ...] = tuple(Property)


class ReturnCode(Enum):
    """What a ``migratepage()`` callback returns: 0 or a negative errno."""

    OK = 0
    EAGAIN = 11
    EBUSY = 16
    EINVAL = 22
    ENOMEM = 12
    EIO = 5
    ENOSPC = 28

    @property
    def is_error(self) -> bool:
        return self is not ReturnCode.OK

    @classmethod
    def parse(cls, text: str) -> ReturnCode | None:
        return cls.__members__.get(text)

    @classmethod
    def from_value(cls, value: int) -> ReturnCode:
        for code in cls:
            if code.value == value:
                return code
        raise ValueError(f"no return code with value {value}")
