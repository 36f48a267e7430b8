"""When a token is refreshed: the windows of its lifetime, as ``min(cap, fraction of the lifetime)``.

``RefreshPolicy`` sizes the expiry skew and the mandatory and advisory windows ``lifecycle`` acts on;
``is_shareable`` is the one rule for a token shared through the machine's store (the M2M cache and U2M
sign-ins): handed out as it is until the mandatory window of its whole lifetime.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RefreshPolicy:
    """Window sizes as ``min(cap seconds, fraction of the token's lifetime)``."""

    expiry_skew: float = 30.0
    expiry_skew_fraction: float = 0.05
    expiry_skew_min: float = 1.0  # network and clock jitter, even for very short tokens (at most ttl/2)
    mandatory_lead: float = 120.0  # before usable_until
    mandatory_fraction: float = 0.15
    advisory_lead: float = 900.0  # before usable_until; botocore 15 min, databricks-sdk 20 min
    advisory_fraction: float = 0.5
    backoff_initial: float = 2.0  # first retry after a failed background refresh
    backoff_max: float = 60.0
    mandatory_retry_after: float = 2.0  # after a tolerated transient failure in the mandatory window
    # Issue 10 (firsthour): the most a caller of get() waits for a token, its own fetch or another
    # thread's, in seconds; a source may set its own (``fetch_deadline``: U2M includes the sign-in).
    wait_deadline: float = 120.0

    def skew(self, ttl: float) -> float:
        """How long before ``exp`` a token of lifetime ``ttl`` stops being handed out."""
        return min(self.expiry_skew, max(self.expiry_skew_min, self.expiry_skew_fraction * ttl), ttl / 2)

    def mandatory(self, ttl: float) -> float:
        """How long before ``usable_until`` callers block on a refresh."""
        return min(self.mandatory_lead, self.mandatory_fraction * ttl)

    def advisory(self, ttl: float) -> float:
        """How long before ``usable_until`` a background refresh starts."""
        return min(self.advisory_lead, self.advisory_fraction * ttl)

    def shared_refresh_lead(self, ttl: float) -> float:
        """How long before ``exp`` a token shared through the machine's store (M2M cache, U2M sign-in)
        is replaced: the start of its mandatory window, by its whole lifetime. Until then every process
        takes it from the store as it is; so the machine makes about one token request per lifetime
        (1.04 for one-hour tokens), where each process on its own would refresh at its advisory point."""
        return self.skew(ttl) + self.mandatory(ttl)


DEFAULT_POLICY = RefreshPolicy()


def is_shareable(
    expires_at: float, obtained_at: float, now: float, policy: RefreshPolicy = DEFAULT_POLICY
) -> bool:
    """A token saved in the machine's store at ``obtained_at`` is handed out as it is (no lock, no
    network) while more than ``policy.shared_refresh_lead`` of its lifetime is left. A process that
    gets it mid-life computes its windows on what is left, so it reads the store again, not the
    network, at its advisory point (a few store reads per lifetime, then one request for the machine)."""
    return expires_at - now > policy.shared_refresh_lead(max(expires_at - obtained_at, 0.0))
